// What both stores do the same way around their commits: the listeners of each collection, told
// of committed changes in order, and the queue that runs one writer at a time.
import type { Log } from '../log.ts';
import type { ChangeListener, CollectionName, StoreChange } from './store.ts';

export class ChangeListeners {
  readonly #byCollection = new Map<CollectionName, Set<ChangeListener<CollectionName>>>();

  constructor(private readonly log: Log) {}

  /** Whether anyone listens to `c` (a store may then skip reading the values a commit replaces). */
  watched(c: CollectionName): boolean {
    return (this.#byCollection.get(c)?.size ?? 0) > 0;
  }

  subscribe<C extends CollectionName>(c: C, listener: ChangeListener<C>): () => void {
    let set = this.#byCollection.get(c);
    if (!set) this.#byCollection.set(c, (set = new Set()));
    const l = listener as unknown as ChangeListener<CollectionName>;
    set.add(l);
    return () => set.delete(l);
  }

  dispatch(changes: readonly StoreChange[]): void {
    for (const change of changes) {
      const set = this.#byCollection.get(change.collection);
      if (!set) continue;
      for (const l of set) {
        try {
          l(change);
        } catch (err) {
          // The commit stands; a listener that fails only loses its own update.
          this.log('error', 'store_listener_failed', { collection: change.collection, error: (err as Error).message });
        }
      }
    }
  }

  clear(): void {
    this.#byCollection.clear();
  }
}

/** Runs tasks one at a time, in the order they were queued; a failed task does not stop the next. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const done = this.#tail.then(task, task);
    this.#tail = done.catch(() => undefined);
    return done;
  }

  /** Resolves when every task queued so far has settled. */
  async idle(): Promise<void> {
    await this.#tail;
  }
}
