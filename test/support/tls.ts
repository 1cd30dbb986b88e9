// Self-signed certificates for TLS tests, made with the real openssl CLI (EC P-256: fast to make).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

/** Writes `<name>.crt` and `<name>.key` into `dir`, valid for localhost and 127.0.0.1 for a day. */
export function makeSelfSignedCert(dir: string, name = 'server', cn = 'localhost'): CertFiles {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${cn}`,
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'pipe' });
  return { cert, key };
}

/** The SHA-256 fingerprint openssl prints for a certificate file (to tell two certificates apart). */
export function fingerprint(certFile: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', certFile], { encoding: 'utf8' }).trim().split('=')[1] ?? '';
}
