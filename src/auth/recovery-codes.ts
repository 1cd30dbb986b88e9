// Two-factor recovery codes, as SFTPGo hands them out: twelve `RC-` codes per account, each good
// once in place of a TOTP code at an HTTP login (API token or web login). Only their SHA-256
// digests are kept (the codes are 110 random bits, so a fast digest is enough), with a short hint
// to tell them apart and whether each was used, in the store's meta beside the account's record,
// so reconcile never sees them. They are bound to the record's id: a deleted account's codes do
// not open an account created later under the same name.
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { META, type ReadTx, type Store } from '../store/store.ts';

/** How many codes a set holds (SFTPGo's). */
export const RECOVERY_CODE_COUNT = 12;
/** Below this many unused codes, enabling TOTP again hands out a new set (SFTPGo's rule). */
export const RECOVERY_CODES_LOW = 5;
/** Letters and digits without the look-alikes (0/O, 1/I): 32 symbols, 5 bits each. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const CODE_CHARS = 22;

export type AccountKind = 'admin' | 'user';

export interface RecoveryAccount {
  kind: AccountKind;
  name: string;
  /** The record's id: codes made for an earlier record of the same name do not count. */
  id: number;
}

interface StoredCode {
  digest: string;
  /** The code's first characters, shown in lists to tell codes apart. */
  hint: string;
  used: boolean;
}

interface StoredCodes {
  owner: number;
  codes: StoredCode[];
}

/** What a list of codes shows: SFTPGo's `{code, used}`, the code reduced to its hint. */
export interface RecoveryCodeView {
  code: string;
  used: boolean;
}

function digest(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}

/** A code as typed: spaces dropped, upper case. */
function normalise(code: string): string {
  return code.replace(/\s+/g, '').toUpperCase();
}

/** Whether `text` has the shape of a recovery code (so a login tries it as one). */
export function looksLikeRecoveryCode(text: string): boolean {
  return /^RC-[A-Z0-9]{10,64}$/.test(normalise(text));
}

function newCode(): string {
  let out = 'RC-';
  for (let i = 0; i < CODE_CHARS; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

async function stored(tx: ReadTx, a: RecoveryAccount): Promise<StoredCode[]> {
  const rec = (await tx.get('meta', META.recoveryCodes(a.kind, a.name))) as StoredCodes | undefined;
  return rec && rec.owner === a.id ? rec.codes : [];
}

/** A new set of codes for the account, replacing any earlier one; the codes in clear, shown once. */
export async function newRecoveryCodes(store: Store, a: RecoveryAccount): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  const rec: StoredCodes = { owner: a.id, codes: codes.map((c) => ({ digest: digest(c), hint: `${c.slice(0, 7)}…`, used: false })) };
  await store.write((tx) => tx.put('meta', META.recoveryCodes(a.kind, a.name), rec));
  return codes;
}

export async function listRecoveryCodes(store: Store, a: RecoveryAccount): Promise<RecoveryCodeView[]> {
  return (await stored(store, a)).map((c) => ({ code: c.hint, used: c.used }));
}

export async function unusedRecoveryCodes(store: Store, a: RecoveryAccount): Promise<number> {
  return (await stored(store, a)).filter((c) => !c.used).length;
}

export async function dropRecoveryCodes(store: Store, a: Pick<RecoveryAccount, 'kind' | 'name'>): Promise<void> {
  await store.write((tx) => tx.remove('meta', META.recoveryCodes(a.kind, a.name)));
}

/** Marks `code` used and says true when it is one of the account's unused codes; in one transaction, so it works once. */
export async function useRecoveryCode(store: Store, a: RecoveryAccount, code: string): Promise<boolean> {
  const want = Buffer.from(digest(normalise(code)), 'hex');
  return store.write(async (tx) => {
    const key = META.recoveryCodes(a.kind, a.name);
    const rec = (await tx.get('meta', key)) as StoredCodes | undefined;
    if (!rec || rec.owner !== a.id) return false;
    const i = rec.codes.findIndex((c) => !c.used && timingSafeEqual(Buffer.from(c.digest, 'hex'), want));
    if (i < 0) return false;
    const codes = rec.codes.map((c, j) => (j === i ? { ...c, used: true } : c));
    await tx.put('meta', key, { ...rec, codes });
    return true;
  });
}
