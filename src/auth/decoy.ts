// The decoy password check: an attempt that names no account (or an account without a password)
// verifies the given password against a hash made with the configured algorithm and cost, so the
// refusal takes as long as a wrong password does and its timing does not tell which usernames exist.
import { randomBytes } from 'node:crypto';
import { hashPassword, verifyPassword, type HashPasswordOptions } from './passwords.ts';

export class DecoyPassword {
  /** One decoy hash per hashing setting (a reload may change the cost). */
  readonly #hashes = new Map<string, Promise<string>>();

  /** Spends one verification of `password` at the cost `opts` hashes new passwords with. */
  async verify(password: string, opts: HashPasswordOptions): Promise<void> {
    const key = JSON.stringify(opts);
    let hash = this.#hashes.get(key);
    if (!hash) {
      hash = hashPassword(randomBytes(18).toString('base64'), opts);
      this.#hashes.set(key, hash);
    }
    await verifyPassword(password, await hash).catch(() => false);
  }
}
