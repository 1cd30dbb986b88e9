// SSH host keys made by this server: the three kinds it generates when sftpd.host_keys lists none,
// and, on a store other servers share, one set for all of them kept in the store (private keys
// sealed with the secrets key every replica holds), so a client behind the load balancer sees one
// server whichever replica answers. The first replica to need them generates them; a replica that
// loses the race to store them uses the stored ones.
import { AppError } from '../errors.ts';
import { utils } from '../lib/ssh2.ts';
import type { Log } from '../log.ts';
import { isSealed } from '../config/sealed.ts';
import { META, type Store } from '../store/store.ts';

export const GENERATED_HOST_KEYS = [
  { file: 'id_ed25519', type: 'ed25519' as const, opts: {} },
  { file: 'id_ecdsa', type: 'ecdsa' as const, opts: { bits: 256 } },
  { file: 'id_rsa', type: 'rsa' as const, opts: { bits: 3072 } },
];

export type HostKeyType = (typeof GENERATED_HOST_KEYS)[number]['type'];

/**
 * ssh2's key generator under Bun occasionally emits a private key its own parser rejects
 * ("Malformed OpenSSH private key", seen once in hundreds of test runs): check, and try again.
 */
export function generateHostKey(type: HostKeyType, opts: object, log: Log): { private: string; public: string } {
  for (let attempt = 1; ; attempt++) {
    const pair = utils.generateKeyPairSync(type, opts as never);
    if (!(utils.parseKey(pair.private) instanceof Error)) return pair;
    log('warn', 'sftp_host_key_regenerated', { type, attempt });
    if (attempt >= 5) throw new AppError('io', `could not generate a usable ${type} host key`);
  }
}

/** What the store keeps: each key's type, public line and sealed private key. */
interface StoredHostKey {
  type: HostKeyType;
  public: string;
  private: { sealed: string };
}

/** The host keys every server sharing `store` presents, generated and stored by the first to ask. */
export async function sharedHostKeys(opts: { store: Store; log: Log }): Promise<Buffer[]> {
  const { store, log } = opts;
  if (!store.secrets.hasKey) throw new AppError('config', 'host keys kept in a shared store need the secrets key');
  let stored = (await store.get('meta', META.sftpdHostKeys)) as StoredHostKey[] | undefined;
  if (!stored) {
    // Generated outside the write lock (RSA takes a while), then stored unless another server was first.
    const made: StoredHostKey[] = GENERATED_HOST_KEYS.map(({ type, opts: o }) => {
      const pair = generateHostKey(type, o, log);
      const sealed = store.secrets.seal(pair.private);
      if (!isSealed(sealed)) throw new AppError('config', 'host keys kept in a shared store need the secrets key');
      return { type, public: pair.public, private: sealed };
    });
    stored = await store.write(async (tx) => {
      const first = (await tx.get('meta', META.sftpdHostKeys)) as StoredHostKey[] | undefined;
      if (first) return first;
      await tx.put('meta', META.sftpdHostKeys, made);
      return made;
    });
    if (stored === made) log('info', 'sftp_host_keys_generated', { store: store.location, types: made.map((k) => k.type) });
  }
  return stored.map((k) => {
    const key = Buffer.from(store.secrets.unseal(k.private.sealed));
    if (utils.parseKey(key) instanceof Error) throw new AppError('config', `the ${k.type} host key kept in the store ${store.location} cannot be parsed`);
    return key;
  });
}
