// The FTP/S server: one listener per binding (plain with optional AUTH TLS, TLS required, or
// implicit TLS), the sessions it accepted, and the certificates, re-read from their files on
// reload. Listeners and ports stay as started; users and per-login settings follow the config.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import type { SecureContext } from 'node:tls';
import type { Config } from '../../config/load.ts';
import type { Ftpd, TlsBinding } from '../../config/schema-types.ts';
import { AppError } from '../../errors.ts';
import type { LoginGate } from '../../core/gate.ts';
import type { Log } from '../../log.ts';
import { FtpSession, type SessionHost } from './session.ts';
import { PassivePorts } from './passive.ts';
import { loadTlsContext } from './tls.ts';

export interface FtpServerOptions {
  config: Config;
  dataDir: string;
  gate: LoginGate;
  log: Log;
}

interface Listener {
  server: Server;
  /** Index of the binding in ftpd.bindings, to find it again in a reloaded config. */
  index: number;
  binding: TlsBinding;
  tls: SecureContext | undefined;
}

export class FtpServer {
  #config: Config;
  #banner: string[] = [];
  readonly #listeners: Listener[] = [];
  readonly #sessions = new Set<FtpSession>();
  /** Accepted control sockets still at the door (caps, PROXY header, admission). */
  readonly #pending = new Set<Socket>();
  readonly #passivePorts = new PassivePorts();
  #idleCheck = false;

  constructor(private readonly opts: FtpServerOptions) {
    this.#config = opts.config;
  }

  get #ftpd(): Ftpd {
    return this.#config.ftpd ?? {};
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  async start(): Promise<void> {
    this.opts.gate.connections.startIdleCheck(this.#config.common?.idle_timeout);
    this.#idleCheck = true;
    this.#banner = this.#loadBanner(this.#ftpd);
    const bindings = this.#ftpd.bindings ?? [];
    for (const [index, binding] of bindings.entries()) {
      if (!binding.port) continue;
      const tls = loadTlsContext(this.#ftpd, binding, this.opts.dataDir);
      if (!tls && (binding.tls_mode ?? 0) > 0)
        throw new AppError('config', `ftpd.bindings[${index}]: tls_mode ${binding.tls_mode} needs certificate_file and certificate_key_file`);
      // Paused until the session reads, so an implicit-TLS client hello is left for the TLS layer.
      const server = createServer({ pauseOnConnect: true }, (sock) => this.#accept(sock, listener));
      const listener: Listener = { server, index, binding, tls };
      await new Promise<void>((res, rej) => {
        server.once('error', rej);
        server.listen(binding.port, binding.address || '0.0.0.0', () => {
          server.off('error', rej);
          res();
        });
      });
      server.on('error', (err: Error) => this.opts.log('error', 'ftp_listener_error', { error: err.message }));
      this.#listeners.push(listener);
      const addr = server.address() as AddressInfo;
      this.opts.log('info', 'ftp_listening', { address: addr.address, port: addr.port, tls_mode: binding.tls_mode ?? 0 });
    }
  }

  /** New config: certificates and banner are re-read; a bad certificate keeps the previous one. */
  async reload(config: Config): Promise<void> {
    this.#config = config;
    const ftpd = this.#ftpd;
    try {
      this.#banner = this.#loadBanner(ftpd);
    } catch (err) {
      this.opts.log('error', 'ftp_reload_failed', { error: (err as Error).message });
    }
    for (const l of this.#listeners) {
      const binding = ftpd.bindings?.[l.index];
      if (!binding || binding.port !== l.binding.port) continue;
      l.binding = binding;
      try {
        const next = loadTlsContext(ftpd, binding, this.opts.dataDir);
        if (next) l.tls = next;
        this.opts.log('info', 'ftp_tls_reloaded', { port: binding.port, tls: !!next });
      } catch (err) {
        this.opts.log('error', 'ftp_reload_failed', { port: binding.port, error: (err as Error).message });
      }
    }
  }

  async stop(): Promise<void> {
    // A listener's close waits for its connections to end: end the sessions (and sockets still at
    // the door) before waiting on it.
    const closed = this.#listeners.splice(0).map((l) => new Promise<void>((r) => l.server.close(() => r())));
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
    for (const s of [...this.#sessions]) s.close();
    await Promise.all(closed);
    if (this.#idleCheck) this.opts.gate.connections.releaseIdleCheck();
    this.#idleCheck = false;
    this.#sessions.clear();
  }

  #loadBanner(ftpd: Ftpd): string[] {
    if (ftpd.banner_file) {
      const path = isAbsolute(ftpd.banner_file) ? ftpd.banner_file : resolve(this.opts.dataDir, ftpd.banner_file);
      try {
        const lines = readFileSync(path, 'utf8').replace(/\r/g, '').split('\n').filter((l, i, all) => l || i < all.length - 1);
        if (lines.length > 0) return lines;
      } catch (err) {
        throw new AppError('config', `ftpd.banner_file: ${(err as Error).message}`);
      }
    }
    return [ftpd.banner || 'SFTPGo FTP Server ready'];
  }

  #accept(sock: Socket, listener: Listener): void {
    const server = this;
    const proxy = listener.binding.apply_proxy_config !== false;
    const host: SessionHost = {
      get ftpd() {
        return server.#ftpd;
      },
      get common() {
        return server.#config.common;
      },
      gate: this.opts.gate,
      log: this.opts.log,
      get binding() {
        return listener.binding;
      },
      tlsContext: () => listener.tls,
      passivePorts: this.#passivePorts,
      banner: () => this.#banner,
      // Passive data connections through the same proxy carry their own header (SFTPGo expects
      // it on both); they are not counted against the caps.
      admitData: proxy ? (data: Socket) => this.opts.gate.sockets.accept(data, { protocol: 'FTP', proxy, counted: false }) : undefined,
    };
    // A reset while the admission is pending must not be an unhandled 'error'.
    sock.on('error', () => undefined);
    const gate = this.opts.gate;
    // Over the caps: 421 (RFC 959's "closing control connection") on plain bindings; an implicit
    // TLS client would read it as a broken handshake, so it is only closed.
    const implicit = (listener.binding.tls_mode ?? 0) === 2;
    // The socket is paused and would not notice the client's FIN: destroyed once the reply is out.
    const refuse = (s: Socket): void => void (implicit ? s.destroy() : s.end('421 Access denied\r\n', () => s.destroy()));
    // Until its session exists, stop() closes the socket from here.
    this.#pending.add(sock);
    sock.once('close', () => this.#pending.delete(sock));
    void gate.sockets.accept(sock, { protocol: 'FTP', proxy, refuse }).then(async (ip) => {
      if (ip === undefined) return;
      // Banned, rate limited or refused by the post-connect hook: 421 as for the caps (SFTPGo's too).
      if (await gate.admit(sock, ip, 'FTP')) return void refuse(sock);
      if (!this.#pending.delete(sock)) return void sock.destroy();
      const session = new FtpSession(sock, host, { ip, onClose: () => this.#sessions.delete(session) });
      this.#sessions.add(session);
      session.start().catch((err) => {
        this.opts.log('error', 'ftp_session_error', { error: String(err) });
        session.close();
      });
    });
  }
}
