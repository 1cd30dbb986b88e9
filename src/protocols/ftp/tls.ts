// TLS for the FTP front-end: a SecureContext built from the certificate and key files (re-read on
// reload), and server-side wrapping of an accepted socket, used alike for implicit TLS, AUTH TLS
// on the control connection and PROT P data connections.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { Ftpd, TlsBinding } from '../../config/schema-types.ts';
import { AppError } from '../../errors.ts';

/**
 * The binding's certificate (or the ftpd-wide one), undefined when none is configured. Relative
 * paths are taken from the data dir, as sftpd.host_keys are.
 */
export function loadTlsContext(ftpd: Ftpd, binding: TlsBinding, dataDir: string): SecureContext | undefined {
  const certFile = binding.certificate_file || ftpd.certificate_file;
  const keyFile = binding.certificate_key_file || ftpd.certificate_key_file;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new AppError('config', 'ftpd: certificate_file and certificate_key_file must be given together');
  const read = (p: string): Buffer => {
    const path = isAbsolute(p) ? p : resolve(dataDir, p);
    try {
      return readFileSync(path);
    } catch (err) {
      throw new AppError('config', `ftpd: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  try {
    return createSecureContext({
      cert: read(certFile),
      key: read(keyFile),
      minVersion: binding.min_tls_version === 13 ? 'TLSv1.3' : 'TLSv1.2',
    });
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('config', `ftpd: invalid certificate or key (${certFile}): ${(err as Error).message}`);
  }
}

/** Starts the server side of a TLS session on `sock`; nothing is sent until the client hello. */
export function wrapTls(sock: Socket, context: SecureContext): TLSSocket {
  return new TLSSocket(sock, { isServer: true, secureContext: context });
}

/** Resolves when the handshake is done; rejects on error, close or timeout (the socket is destroyed). */
export function handshake(sock: TLSSocket, timeoutMs: number): Promise<void> {
  return new Promise((res, rej) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      sock.off('secure', onSecure);
      sock.off('error', onError);
      sock.off('close', onClose);
      if (!err) return res();
      sock.destroy();
      rej(err);
    };
    const onSecure = (): void => done();
    const onError = (e: Error): void => done(e);
    const onClose = (): void => done(new Error('connection closed during the TLS handshake'));
    const timer = setTimeout(() => done(new Error('TLS handshake timed out')), timeoutMs);
    sock.once('secure', onSecure);
    sock.once('error', onError);
    sock.once('close', onClose);
  });
}
