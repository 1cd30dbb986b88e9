// The effective user records that open transfers read their limits from (core/transfer-limits.ts),
// remembered between transfers and forgotten as soon as the store commits a change to a user, a
// folder, a group or an override, so a reload or an API update still applies to the next transfer. Without
// it every file a client opens read and decoded the user's record, its override and its folders
// from the store: ~0.1 ms per SFTP/FTP small file, measured.
import type { UserRecord } from '../model.ts';
import { userWithGroups } from '../store/groups.ts';
import type { Store } from '../store/store.ts';

/** Past this many remembered users the memo starts again: it holds the users moving files now. */
const MAX_USERS = 1000;

export class CurrentUsers {
  readonly #memo = new Map<string, Promise<UserRecord | undefined>>();
  readonly #unsubscribe: (() => void)[];

  constructor(private readonly store: Store) {
    const forget = (): void => this.#memo.clear();
    // Any change to these can change a user's effective record (override layering, folders, groups).
    this.#unsubscribe = (['users', 'folders', 'groups', 'overrides'] as const).map((c) => store.subscribe(c, forget));
  }

  /** The user's effective record as the store holds it now; undefined when there is no such user. */
  get(username: string): Promise<UserRecord | undefined> {
    let p = this.#memo.get(username);
    if (p) return p;
    if (this.#memo.size >= MAX_USERS) this.#memo.clear();
    p = userWithGroups(this.store, username);
    this.#memo.set(username, p);
    // A failed read is not remembered: the next transfer asks the store again.
    p.catch(() => {
      if (this.#memo.get(username) === p) this.#memo.delete(username);
    });
    return p;
  }

  close(): void {
    for (const u of this.#unsubscribe) u();
    this.#memo.clear();
  }
}
