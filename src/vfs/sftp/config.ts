// Turns an SFTPFsConfig (SFTPGo's field names) into connection parameters and transfer windows.
// `equality_check_mode` is accepted only as 0 (the schema refuses other values): it tunes
// SFTPGo's own rename-vs-copy heuristics, which this backend does not have.
import { posix } from 'node:path';
import type { SFTPFsConfig } from '../../config/schema-types.ts';
import { AppError } from '../../errors.ts';
import { literalSecret, type SecretResolver } from '../options.ts';
import { normalizeFingerprint, type ConnectParams } from './connection.ts';

export interface SftpFsOptions {
  /** Reads password, private_key and key_passphrase (default: literals only). */
  resolveSecret?: SecretResolver;
  /** Close the pooled connection after this long unused (default 120 s; 0 keeps it until close()). */
  idleTimeoutMs?: number;
  /** Handshake and authentication timeout (default 20 s). */
  readyTimeoutMs?: number;
  /** Connect inside openSftpFs(), so bad credentials or a wrong host key fail there (default: lazily). */
  connect?: boolean;
}

export interface TransferSettings {
  /** Bytes in flight per download / upload. */
  readWindow: number;
  writeWindow: number;
}

/** Without buffer_size, a transfer still keeps this much in flight (16 requests of 64 KiB). */
export const DEFAULT_WINDOW = 1024 * 1024;

export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(endpoint.trim()) ?? /^([^:]+)(?::(\d+))?$/.exec(endpoint.trim());
  const port = m?.[2] === undefined ? 22 : Number(m[2]);
  if (!m || !m[1] || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new AppError('config', `sftp endpoint must be host:port, got ${JSON.stringify(endpoint)}`);
  return { host: m[1], port };
}


export function connectParams(config: SFTPFsConfig, opts: SftpFsOptions = {}): ConnectParams {
  const resolve = opts.resolveSecret ?? literalSecret;
  const secret = (value: SFTPFsConfig['password']): string | undefined => {
    const v = value === undefined ? undefined : resolve(value);
    return v === '' ? undefined : v;
  };
  const { host, port } = parseEndpoint(config.endpoint ?? '');
  if (!config.username) throw new AppError('config', 'sftp backend: username is required');
  const password = secret(config.password);
  const privateKey = secret(config.private_key);
  if (password === undefined && privateKey === undefined)
    throw new AppError('config', 'sftp backend: a password or a private_key is required');
  const prefix = config.prefix ? posix.normalize(config.prefix).replace(/(.)\/+$/, '$1') : '/';
  if (prefix.includes('\0')) throw new AppError('config', 'sftp backend: prefix contains a NUL byte');
  return {
    host,
    port,
    username: config.username,
    password,
    privateKey,
    passphrase: secret(config.key_passphrase),
    fingerprints: (config.fingerprints ?? []).filter((f) => f.trim() !== '').map(normalizeFingerprint),
    prefix,
    readyTimeoutMs: opts.readyTimeoutMs ?? 20_000,
    idleTimeoutMs: opts.idleTimeoutMs ?? 120_000,
  };
}

export function transferSettings(config: SFTPFsConfig): TransferSettings {
  const mb = config.buffer_size ?? 0;
  if (!Number.isInteger(mb) || mb < 0 || mb > 64) throw new AppError('config', `sftp backend: buffer_size must be 0-64 (MB), got ${mb}`);
  const window = mb > 0 ? mb * 1024 * 1024 : DEFAULT_WINDOW;
  // 0 means "one request at a time": servers that delete a file once it has been read need it.
  return { readWindow: config.disable_concurrent_reads ? 0 : window, writeWindow: window };
}
