// A bounded queue of asynchronous work run by a small fixed number of workers: notifications must
// never hold up the transfer that caused them, and a slow or dead receiver must never grow memory
// without bound. When the queue is full a job is dropped and counted; the log says so once per
// burst (when dropping starts, and again with the count when it stops), not once per job.
import type { Log } from '../log.ts';
import type { Metrics } from './metrics.ts';

export type Job = () => Promise<void>;

export interface QueueOptions {
  /** Jobs waiting beyond those running; more are dropped. */
  capacity: number;
  workers: number;
  /** Metric counting dropped jobs. */
  droppedMetric: string;
  /** Names the queue in log lines. */
  name: string;
  log: Log;
  metrics: Metrics;
}

export class BoundedQueue {
  readonly #jobs: { job: Job; labels: Record<string, string> }[] = [];
  #running = 0;
  /** Jobs dropped in the current burst; 0 when not dropping. */
  #burst = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(private opts: QueueOptions) {}

  /** Changes the capacity (reload); jobs already queued stay. */
  resize(capacity: number): void {
    this.opts = { ...this.opts, capacity };
  }

  get pending(): number {
    return this.#jobs.length;
  }

  get running(): number {
    return this.#running;
  }

  /** Queues `job`; false when the queue is full and the job was dropped. */
  push(job: Job, labels: Record<string, string> = {}): boolean {
    if (this.#jobs.length >= this.opts.capacity) {
      this.opts.metrics.inc(this.opts.droppedMetric, labels);
      if (this.#burst++ === 0)
        this.opts.log('warn', 'queue_full', { queue: this.opts.name, capacity: this.opts.capacity, running: this.#running });
      return false;
    }
    if (this.#burst > 0) {
      this.opts.log('warn', 'queue_drops_ended', { queue: this.opts.name, dropped: this.#burst });
      this.#burst = 0;
    }
    this.#jobs.push({ job, labels });
    this.#pump();
    return true;
  }

  #pump(): void {
    while (this.#running < this.opts.workers && this.#jobs.length > 0) {
      const { job } = this.#jobs.shift()!;
      this.#running++;
      job()
        .catch((err: unknown) => this.opts.log('error', 'queue_job_failed', { queue: this.opts.name, error: String((err as Error)?.message ?? err) }))
        .finally(() => {
          this.#running--;
          this.#pump();
          if (this.#running === 0 && this.#jobs.length === 0) for (const w of this.#idleWaiters.splice(0)) w();
        });
    }
  }

  /**
   * Waits up to `ms` for every queued and running job to finish; then forgets what is still queued
   * (running jobs end on their own timeouts). Returns how many queued jobs were dropped.
   */
  async drain(ms: number): Promise<number> {
    if (this.#running > 0 || this.#jobs.length > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
      ]);
      clearTimeout(timer);
    }
    const dropped = this.#jobs.length;
    for (const { labels } of this.#jobs.splice(0)) this.opts.metrics.inc(this.opts.droppedMetric, labels);
    return dropped;
  }
}
