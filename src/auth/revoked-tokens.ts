// Tokens revoked before their expiry (SFTPGo's logout): their ids, kept only until the token
// would have expired anyway, so the list stays as small as the number of live logged-out tokens.
// One server keeps them in memory. Servers sharing a store (PostgreSQL) keep them in it, one meta
// key per token, and look a token up there on each request, as SFTPGo's provider token manager
// does: a logout through one replica holds on every other at once, with no notification to wait for.
import { META, type Store } from '../store/store.ts';

/** How often a shared store is swept of revoked tokens that have expired anyway. */
const SWEEP_MS = 10 * 60_000;

export class RevokedTokens {
  /** Token id → its expiry, epoch seconds: every revocation of this server, shared store or not. */
  readonly #byId = new Map<string, number>();
  readonly #store: Pick<Store, 'shared' | 'get' | 'write' | 'entries'> | undefined;
  readonly #now: () => number;
  #lastSweep: number;

  constructor(store?: Pick<Store, 'shared' | 'get' | 'write' | 'entries'>, opts: { now?: () => number } = {}) {
    this.#store = store?.shared ? store : undefined;
    this.#now = opts.now ?? Date.now;
    this.#lastSweep = this.#now();
  }

  async revoke(id: string, expiresAtSec: number, nowSec = Math.floor(this.#now() / 1000)): Promise<void> {
    this.#prune(nowSec);
    if (expiresAtSec <= nowSec) return;
    this.#byId.set(id, expiresAtSec);
    const store = this.#store;
    if (!store) return;
    await store.write((tx) => tx.put('meta', META.revokedToken(id), expiresAtSec));
    if (this.#now() - this.#lastSweep >= SWEEP_MS) {
      this.#lastSweep = this.#now();
      await this.#sweep(nowSec);
    }
  }

  /**
   * Spends a one-use token: false when it was spent already, here or on a server sharing the
   * store. Noted here before any wait, so two uses racing on this server cannot both pass.
   */
  async claim(id: string, expiresAtSec: number): Promise<boolean> {
    if (this.#byId.has(id)) return false;
    this.#byId.set(id, expiresAtSec);
    if (this.#store && (await this.#store.get('meta', META.revokedToken(id))) !== undefined) return false;
    await this.revoke(id, expiresAtSec);
    return true;
  }

  async has(id: string): Promise<boolean> {
    if (this.#byId.has(id)) return true;
    if (!this.#store) return false;
    const exp = (await this.#store.get('meta', META.revokedToken(id))) as number | undefined;
    return exp !== undefined;
  }

  #prune(nowSec: number): void {
    for (const [id, exp] of this.#byId) if (exp <= nowSec) this.#byId.delete(id);
  }

  /** Removes the shared entries of tokens past their expiry (any replica's). */
  async #sweep(nowSec: number): Promise<void> {
    const store = this.#store!;
    const prefix = META.revokedToken('');
    // Keys first: the store's iterator must not stay open across the write.
    const expired: string[] = [];
    for await (const [key, exp] of store.entries('meta')) if (key.startsWith(prefix) && typeof exp === 'number' && exp <= nowSec) expired.push(key);
    if (expired.length === 0) return;
    await store.write(async (tx) => {
      for (const key of expired) await tx.remove('meta', key);
    });
  }
}
