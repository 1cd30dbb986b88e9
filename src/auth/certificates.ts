// OpenSSH user certificates (PROTOCOL.certkeys): parsing the certificate a client presents as its
// public key, checking it against the trusted user CAs (sftpd.trusted_user_ca_keys) and verifying
// SSH signatures (the CA's over the certificate, the user's over the session) with node:crypto.
// Pure apart from loading the CA files; every refusal has a stable `cert_*` reason for the log.
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { AppError } from '../errors.ts';
import { inCidr } from '../lib/cidr.ts';
import { parsePublicKey } from './keys.ts';

export const SSH_CERT_USER = 1;
export const SSH_CERT_HOST = 2;

/** Certificate key types and the plain key type each certifies. */
const CERT_TYPES: Record<string, string> = {
  'ssh-ed25519-cert-v01@openssh.com': 'ssh-ed25519',
  'ssh-rsa-cert-v01@openssh.com': 'ssh-rsa',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ecdsa-sha2-nistp521',
};

/** Critical options we can honour; a certificate carrying any other is refused (it would restrict us in a way we ignore). */
const SUPPORTED_CRITICAL_OPTIONS: ReadonlySet<string> = new Set(['source-address']);

/** True for the public key algorithm names a client uses to present a certificate (RSA has three). */
export function isCertificateAlgo(algo: string): boolean {
  return algo.endsWith('-cert-v01@openssh.com');
}

export interface Certificate {
  type: string;
  /** The certified key as a plain SSH public key blob (what signs the session). */
  publicKey: Buffer;
  serial: bigint;
  certType: number;
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: Map<string, Buffer>;
  extensions: string[];
  /** The CA key blob. */
  signatureKey: Buffer;
  signature: Buffer;
  /** Everything the CA signed: the certificate up to, not including, the signature. */
  signed: Buffer;
}

/** A reader over SSH wire encoding; every read throws on truncated input. */
class Wire {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  u32(): number {
    if (this.pos + 4 > this.buf.length) throw new Error('truncated');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    if (this.pos + 8 > this.buf.length) throw new Error('truncated');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    if (this.pos + n > this.buf.length) throw new Error('truncated');
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  str(): string {
    return this.bytes().toString('utf8');
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** Parses a certificate blob; an Error says why it is not one we understand. */
export function parseCertificate(blob: Buffer): Certificate | Error {
  try {
    const w = new Wire(blob);
    const type = w.str();
    const plain = CERT_TYPES[type];
    if (!plain) return new Error(`unsupported certificate type ${type}`);
    w.bytes(); // nonce
    let publicKey: Buffer;
    if (plain === 'ssh-ed25519') publicKey = Buffer.concat([sshString(plain), sshString(w.bytes())]);
    else if (plain === 'ssh-rsa') {
      const e = w.bytes();
      const n = w.bytes();
      publicKey = Buffer.concat([sshString(plain), sshString(e), sshString(n)]);
    } else {
      const curve = w.bytes();
      const q = w.bytes();
      publicKey = Buffer.concat([sshString(plain), sshString(curve), sshString(q)]);
    }
    const serial = w.u64();
    const certType = w.u32();
    const keyId = w.str();
    const principals: string[] = [];
    const pw = new Wire(w.bytes());
    while (!pw.done) principals.push(pw.str());
    const validAfter = w.u64();
    const validBefore = w.u64();
    const criticalOptions = new Map<string, Buffer>();
    const cw = new Wire(w.bytes());
    while (!cw.done) {
      const name = cw.str();
      criticalOptions.set(name, cw.bytes());
    }
    const extensions: string[] = [];
    const ew = new Wire(w.bytes());
    while (!ew.done) {
      extensions.push(ew.str());
      ew.bytes();
    }
    w.bytes(); // reserved
    const signatureKey = w.bytes();
    const signed = blob.subarray(0, w.pos);
    const signature = w.bytes();
    if (!w.done) return new Error('trailing data after the signature');
    return { type, publicKey, serial, certType, keyId, principals, validAfter, validBefore, criticalOptions, extensions, signatureKey, signature, signed };
  } catch (err) {
    return new Error(`malformed certificate: ${(err as Error).message}`);
  }
}

/** The trusted CA key blobs from the configured files (one or more OpenSSH public keys each). */
export function loadTrustedCAs(paths: readonly string[] | undefined, baseDir: string): Buffer[] {
  const out: Buffer[] = [];
  for (const p of paths ?? []) {
    const path = isAbsolute(p) ? p : resolve(baseDir, p);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new AppError('config', `sftpd.trusted_user_ca_keys: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    if (lines.length === 0) throw new AppError('config', `sftpd.trusted_user_ca_keys: ${path} holds no public key`);
    for (const line of lines) {
      const parsed = parsePublicKey(line);
      if (!parsed.ok) throw new AppError('config', `sftpd.trusted_user_ca_keys: ${path}: ${parsed.error}`);
      out.push(parsed.key.blob);
    }
  }
  return out;
}

export interface CertificateCheck {
  trustedCAs: readonly Buffer[];
  username: string;
  ip: string;
  /** Seconds since the epoch. */
  now: number;
}

/**
 * Why `cert` may not log `username` in, or undefined when it may: trusted CA, CA signature, user
 * type, validity window, principal, critical options. The order puts the cheap and the
 * security-relevant refusals first (an unknown CA is reported as such whatever else is wrong).
 */
export function certificateRefusal(cert: Certificate, check: CertificateCheck): string | undefined {
  if (!check.trustedCAs.some((ca) => ca.equals(cert.signatureKey))) return 'cert_untrusted_ca';
  if (isCertificateAlgo(keyType(cert.signatureKey))) return 'cert_untrusted_ca';
  if (!verifySshSignature(cert.signatureKey, cert.signed, cert.signature)) return 'cert_bad_signature';
  if (cert.certType !== SSH_CERT_USER) return 'cert_not_user';
  const now = BigInt(Math.floor(check.now));
  if (now < cert.validAfter) return 'cert_not_yet_valid';
  if (now >= cert.validBefore) return 'cert_expired';
  // OpenSSH and SFTPGo both require the login name among the principals: a certificate without
  // principals would otherwise be valid for every user.
  if (!cert.principals.includes(check.username)) return 'cert_principal_mismatch';
  for (const [name, data] of cert.criticalOptions) {
    if (!SUPPORTED_CRITICAL_OPTIONS.has(name)) return 'cert_unsupported_critical_option';
    if (name === 'source-address' && !sourceAddressAllows(data, check.ip)) return 'cert_source_address';
  }
  return undefined;
}

function sourceAddressAllows(data: Buffer, ip: string): boolean {
  let list: string;
  try {
    list = new Wire(data).str();
  } catch {
    return false;
  }
  return list.split(',').map((s) => s.trim()).filter(Boolean).some((cidr) => {
    try {
      return inCidr(ip, cidr);
    } catch {
      return false;
    }
  });
}

function keyType(blob: Buffer): string {
  try {
    return new Wire(blob).str();
  } catch {
    return '';
  }
}

const b64u = (b: Buffer): string => b.toString('base64url');

/** The node:crypto key for a plain SSH public key blob, and the key type. */
function keyObject(blob: Buffer): { type: string; key: KeyObject } | undefined {
  try {
    const w = new Wire(blob);
    const type = w.str();
    if (type === 'ssh-ed25519') {
      const x = w.bytes();
      if (x.length !== 32) return undefined;
      return { type, key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(x) }, format: 'jwk' }) };
    }
    if (type === 'ssh-rsa') {
      const e = stripZeros(w.bytes());
      const n = stripZeros(w.bytes());
      return { type, key: createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(e) }, format: 'jwk' }) };
    }
    const curve = ECDSA[type];
    if (curve) {
      w.bytes();
      const q = w.bytes();
      const size = (q.length - 1) / 2;
      if (q[0] !== 4 || size !== curve.size) return undefined;
      const jwk = { kty: 'EC', crv: curve.crv, x: b64u(q.subarray(1, 1 + size)), y: b64u(q.subarray(1 + size)) };
      return { type, key: createPublicKey({ key: jwk, format: 'jwk' }) };
    }
  } catch {
    // Malformed key: no key object.
  }
  return undefined;
}

const ECDSA: Record<string, { crv: string; size: number; hash: string }> = {
  'ecdsa-sha2-nistp256': { crv: 'P-256', size: 32, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { crv: 'P-384', size: 48, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { crv: 'P-521', size: 66, hash: 'sha512' },
};

const RSA_HASH: Record<string, string> = { 'ssh-rsa': 'sha1', 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512' };

function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function fixedWidth(b: Buffer, size: number): Buffer | undefined {
  const v = stripZeros(b);
  if (v.length > size) return undefined;
  return Buffer.concat([Buffer.alloc(size - v.length), v]);
}

/**
 * Verifies an SSH signature blob (`string algorithm, string signature`) made by the key `keyBlob`
 * over `data`. The algorithm must fit the key (an RSA key may sign with SHA-1, SHA-256 or SHA-512).
 */
export function verifySshSignature(keyBlob: Buffer, data: Buffer, signatureBlob: Buffer): boolean {
  const k = keyObject(keyBlob);
  if (!k) return false;
  let algo: string;
  let sig: Buffer;
  try {
    const w = new Wire(signatureBlob);
    algo = w.str();
    sig = w.bytes();
  } catch {
    return false;
  }
  try {
    if (k.type === 'ssh-ed25519') return algo === 'ssh-ed25519' && cryptoVerify(null, data, k.key, sig);
    if (k.type === 'ssh-rsa') {
      const hash = RSA_HASH[algo];
      return hash !== undefined && cryptoVerify(hash, data, k.key, sig);
    }
    const curve = ECDSA[k.type];
    if (curve && algo === k.type) {
      const w = new Wire(sig);
      const r = fixedWidth(w.bytes(), curve.size);
      const s = fixedWidth(w.bytes(), curve.size);
      if (!r || !s) return false;
      return cryptoVerify(curve.hash, data, { key: k.key, dsaEncoding: 'ieee-p1363' }, Buffer.concat([r, s]));
    }
  } catch {
    return false;
  }
  return false;
}

/** Why `cert`, presented as `algo`, may not sign: the algorithm must name the certificate's key type. */
export function algoMatchesCertificate(algo: string, cert: Certificate): boolean {
  if (algo === cert.type) return true;
  return cert.type === 'ssh-rsa-cert-v01@openssh.com'
    && (algo === 'rsa-sha2-256-cert-v01@openssh.com' || algo === 'rsa-sha2-512-cert-v01@openssh.com');
}
