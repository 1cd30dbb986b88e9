// Tokens revoked before their expiry (SFTPGo's logout): their ids, kept only until the token
// would have expired anyway, so the set stays as small as the number of live logged-out tokens.
export class RevokedTokens {
  /** Token id → its expiry, epoch seconds. */
  readonly #byId = new Map<string, number>();

  revoke(id: string, expiresAtSec: number, nowSec = Math.floor(Date.now() / 1000)): void {
    this.#prune(nowSec);
    if (expiresAtSec > nowSec) this.#byId.set(id, expiresAtSec);
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  #prune(nowSec: number): void {
    for (const [id, exp] of this.#byId) if (exp <= nowSec) this.#byId.delete(id);
  }
}
