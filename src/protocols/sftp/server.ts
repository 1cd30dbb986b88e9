// The SSH server of the SFTP service: listeners for every binding, the SSH handshake with our
// algorithm lists and host keys, authentication, and the session channels (sftp subsystem, exec
// commands and scp). Shells and PTYs are always refused. Stopping closes listeners and every
// connection it accepted, which releases their open files.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Config } from '../../config/load.ts';
import type { Sftpd } from '../../config/schema-types.ts';
import { isConnectionNoise } from '../../core/events.ts';
import type { LoginGate } from '../../core/gate.ts';
import type { Log } from '../../log.ts';
import type { Session } from '../../core/session.ts';
import { AppError } from '../../errors.ts';
import { Server, type Connection as SshClient } from '../../lib/ssh2.ts';
import { algorithmsFor } from './algorithms.ts';
import { offeredMethods, SshAuthentication, type AuthSettings } from './auth.ts';
import { loadTrustedCAs } from '../../auth/certificates.ts';
import { commandProtocol, enabledCommands, runCommand } from './commands.ts';
import { loadHostKeys } from './host-keys.ts';
import { SftpSession } from './sftp-session.ts';

const DEFAULT_GRACE_SECONDS = 120;
/** How long a client told to disconnect may keep its end of the socket open. */
const HANG_UP_MS = 5_000;
const DEFAULT_MAX_AUTH_TRIES = 6;

export interface SftpServerOptions {
  config: Config;
  dataDir: string;
  gate: LoginGate;
  log: Log;
  /**
   * The host keys every server sharing the store presents (a shared store): used when
   * sftpd.host_keys lists none, instead of keys generated into the data dir.
   */
  sharedHostKeys?: () => Promise<Buffer[]>;
}

export class SftpServer {
  #config: Config;
  readonly #listeners: NetServer[] = [];
  /** Accepted sockets whose client has not identified itself yet: closed at stop. */
  readonly #unidentified = new Set<Socket>();
  readonly #clients = new Set<SshClient>();
  /** Logins of this server, each with its channels' connections. */
  readonly #logins = new Set<Session>();
  readonly #sftpChannels = new Set<SftpSession>();
  #idleCheck = false;
  #uncountHandles: (() => void) | undefined;
  /** Blobs of sftpd.trusted_user_ca_keys, read at start and on reload. */
  #trustedCAs: Buffer[] = [];

  constructor(private readonly opts: SftpServerOptions) {
    this.#config = opts.config;
  }

  get #sftpd(): Sftpd {
    return this.#config.sftpd ?? {};
  }

  /** Open SFTP handles across live sessions (a leak check reads this). */
  get openHandles(): number {
    let n = 0;
    for (const s of this.#sftpChannels) n += s.openHandles;
    return n;
  }

  async start(): Promise<void> {
    const cfg = this.#sftpd;
    // Configured files win; else a shared store's keys, else keys generated into the data dir.
    const shared = !cfg.host_keys?.length ? this.opts.sharedHostKeys : undefined;
    const hostKeys = shared ? await shared() : loadHostKeys(cfg.host_keys, this.opts.dataDir, this.opts.log);
    // Relative paths resolve against the data directory, as host_keys do.
    this.#trustedCAs = loadTrustedCAs(cfg.trusted_user_ca_keys, this.opts.dataDir);
    const algorithms = algorithmsFor(cfg);
    let banner: string | undefined;
    if (cfg.login_banner_file) {
      try {
        banner = readFileSync(cfg.login_banner_file, 'utf8');
      } catch (err) {
        throw new AppError('config', `sftpd.login_banner_file: ${(err as Error).message}`);
      }
    }
    const serverConfig = {
      hostKeys,
      ident: cfg.banner ?? 'SFTPGo',
      banner,
      algorithms: { ...algorithms, serverHostKey: algorithms.serverHostKey, compress: ['none'] },
    };
    for (const b of cfg.bindings ?? []) {
      if (!b.port) continue;
      const gate = this.opts.gate;
      const server = new Server(serverConfig as never, (client, info) => this.#accept(client, gate.sockets.addressOf(client.socket), info.header?.identRaw));
      // ssh2 reports a connection only once the client sent its identification line, so the login
      // grace time is armed on the raw socket: a client that connects and says nothing is dropped too.
      server.on('tcpConnection', (socket) => {
        this.#armGrace(socket);
        // Step 0 of the login pipeline; authentication waits for it, a refusal closes the socket.
        void gate.admit(socket, gate.sockets.addressOf(socket), 'SSH').then((refused) => {
          if (refused) socket.destroy();
        });
      });
      // Our own listener: the caps and the PROXY header are dealt with before ssh2 sees a byte.
      const proxy = b.apply_proxy_config !== false;
      const listener = createServer({ pauseOnConnect: true }, (socket) => {
        this.#unidentified.add(socket);
        socket.once('close', () => this.#unidentified.delete(socket));
        void gate.sockets.accept(socket, { protocol: 'SSH', proxy }).then((ip) => {
          if (ip === undefined) return;
          server.injectSocket(socket);
          socket.resume();
        });
      });
      const host = b.address || '0.0.0.0';
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(b.port, host, () => {
          listener.off('error', reject);
          resolve();
        });
      });
      listener.on('error', (err: Error) => this.opts.log('error', 'sftp_listener_error', { error: err.message }));
      this.#listeners.push(listener);
      const addr = listener.address() as AddressInfo;
      this.opts.log('info', 'sftp_listening', { address: addr.address, port: addr.port });
    }
    this.opts.gate.connections.startIdleCheck(this.#config.common?.idle_timeout);
    this.#idleCheck = true;
    this.#uncountHandles = this.opts.gate.countHandles(() => this.openHandles);
  }

  async reload(config: Config): Promise<void> {
    // Listeners, keys and algorithms stay as started; users, trusted CAs and per-login settings
    // follow the new config (a CA file that no longer loads keeps the previous set).
    try {
      this.#trustedCAs = loadTrustedCAs(config.sftpd?.trusted_user_ca_keys, this.opts.dataDir);
    } catch (err) {
      this.opts.log('error', 'sftp_trusted_ca_reload_failed', { error: (err as Error).message });
    }
    this.#config = config;
  }

  async stop(): Promise<void> {
    // A listener's close completes only once its clients are gone: stop accepting, drop the
    // clients, then wait.
    const closed = this.#listeners.splice(0).map((s) => new Promise<void>((r) => s.close(() => r())));
    await Promise.allSettled([...this.#logins].map((s) => s.close()));
    for (const c of this.#clients) c.end();
    this.#clients.clear();
    for (const s of this.#unidentified) s.destroy();
    this.#unidentified.clear();
    await Promise.all(closed);
    if (this.#idleCheck) this.opts.gate.connections.releaseIdleCheck();
    this.#idleCheck = false;
    this.#uncountHandles?.();
  }

  /** Sockets whose client authenticated: the login grace timer leaves them alone. */
  readonly #authenticated = new WeakSet<Socket>();

  #armGrace(socket: Socket): void {
    const seconds = this.#sftpd.login_grace_time || DEFAULT_GRACE_SECONDS;
    const timer = setTimeout(() => {
      if (this.#authenticated.has(socket)) return;
      this.opts.gate.refuse({ protocol: 'SSH', ip: this.opts.gate.sockets.addressOf(socket), username: '', method: 'none' }, 'login_grace_time_exceeded', { hooks: false });
      socket.destroy();
    }, seconds * 1000);
    socket.once('close', () => clearTimeout(timer));
  }

  #accept(client: SshClient, ip: string, clientVersion?: string): void {
    this.#clients.add(client);
    this.#unidentified.delete(client.socket);
    const gate = this.opts.gate;
    const cfg = this.#sftpd;
    const maxTries = (cfg.max_auth_tries ?? 0) === 0 ? DEFAULT_MAX_AUTH_TRIES : cfg.max_auth_tries! < 0 ? Infinity : cfg.max_auth_tries!;
    let failures = 0;
    let session: Session | undefined;
    const socket = client.socket;
    // Aborts a keyboard-interactive exchange (and kills its hook) when the client goes away.
    const gone$ = new AbortController();
    const auth = new SshAuthentication(ip, gone$.signal);
    // SSH_MSG_DISCONNECT, then the socket: a client that never closes its end is not waited for.
    const hangUp = (): void => {
      client.end();
      setTimeout(() => socket.destroy(), HANG_UP_MS).unref?.();
    };
    const refuse = (username: string, method: string, reason: string, hooks = true): void =>
      gate.refuse({ protocol: 'SSH', ip, username, method }, reason, { hooks });

    /** The last username a client tried, for the protocol error line. */
    let tried = '';

    client.on('authentication', (ctx) => {
      tried = ctx.username;
      void (async () => {
        if (await gate.admit(socket, ip, 'SSH')) {
          ctx.reject();
          client.end();
          return;
        }
        const current = this.#sftpd;
        const authSettings: AuthSettings = {
          passwordAuthentication: current.password_authentication !== false,
          keyboardInteractive: current.keyboard_interactive_authentication === true,
          keyboardInteractiveHook: current.keyboard_interactive_auth_hook || undefined,
          trustedCAs: this.#trustedCAs,
        };
        const methods = offeredMethods(authSettings);
        const outcome = await auth.authenticate(gate.steps, ctx, authSettings);
        if (outcome.ok === 'skip') return ctx.reject(outcome.methods ?? methods, outcome.partial === true);
        if (outcome.ok === 'query') return ctx.accept();
        if (outcome.ok === 'partial') {
          this.opts.log('info', 'login_partial', { ip, protocol: 'SSH', username: outcome.username, method: outcome.method, next: outcome.methods });
          return ctx.reject(outcome.methods, true);
        }
        if (outcome.ok === false) {
          refuse(outcome.username, outcome.method, outcome.reason);
          if (++failures >= maxTries) {
            refuse(outcome.username, outcome.method, 'max_auth_tries', false);
            ctx.reject();
            client.end();
            return;
          }
          return ctx.reject(methods);
        }
        // A login that ends with no channel open (idle timeout, shutdown) drops the client too.
        const opened = await gate.open(outcome.user, { protocol: 'SSH', ip, method: outcome.method, single: false, tls: true, ...(clientVersion ? { clientVersion } : {}), disconnect: hangUp });
        if (!opened.ok) return ctx.reject(methods);
        session = opened.session;
        this.#logins.add(session);
        ctx.accept();
      })().catch((err) => {
        this.opts.log('error', 'sftp_auth_error', { ip, error: String(err) });
        try {
          ctx.reject();
        } catch {
          // Client gone.
        }
      });
    });

    client.on('ready', () => {
      this.#authenticated.add(socket);
      client.on('session', (acceptSession) => {
        const channel = acceptSession();
        channel.on('pty', (_accept, reject) => reject?.());
        channel.on('shell', (_accept, reject) => {
          this.opts.log('info', 'ssh_shell_refused', { connection: session?.id, username: session?.username, ip });
          reject?.();
        });
        // Each channel is a connection of its own with its own protocol: transfers, metrics and
        // events say SFTP, SCP or SSH (a command) for what that channel did. Closing any of them
        // (admin API, shutdown) drops the whole SSH connection, as the client sees one login.
        channel.on('sftp', (accept, reject) => {
          if (!session || session.closed) return reject?.();
          const conn = session.connect({ protocol: 'SFTP', disconnect: hangUp });
          const s = new SftpSession(accept(), conn, () => {
            this.#sftpChannels.delete(s);
            void conn.end();
          });
          this.#sftpChannels.add(s);
        });
        channel.on('exec', (accept, reject, info) => {
          if (!session || session.closed) return reject?.();
          const conn = session.connect({ protocol: commandProtocol(info.command), disconnect: hangUp });
          const ch = accept();
          void runCommand(ch, conn, info.command, enabledCommands(this.#sftpd.enabled_ssh_commands)).finally(() => conn.end());
        });
      });
    });

    const gone = (): void => {
      gone$.abort();
      this.#clients.delete(client);
      const s = session;
      if (s) {
        this.#logins.delete(s);
        void s.close();
      }
    };
    client.on('close', gone);
    client.on('error', (err: Error) => {
      if (isConnectionNoise(err)) return this.opts.log('debug', 'ssh_client_error', { ip, error: err.message });
      gate.protocolError({ ip, protocol: 'SSH', username: session?.username ?? tried, error: err.message });
    });
  }
}
