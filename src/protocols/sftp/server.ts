// The SSH server of the SFTP service: listeners for every binding, the SSH handshake with our
// algorithm lists and host keys, authentication, and the session channels (sftp subsystem, exec
// commands and scp). Shells and PTYs are always refused. Stopping closes listeners and every
// connection it accepted, which releases their open files.
import { readFileSync } from 'node:fs';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Config } from '../../config/load.ts';
import type { Sftpd } from '../../config/schema-types.ts';
import { connections, type Connection } from '../../core/connection.ts';
import { isConnectionNoise, protocolError } from '../../core/events.ts';
import { coreSettingsFor, loginRefusal, openConnection } from '../../core/login.ts';
import { plainIp } from '../../core/ip.ts';
import { AppError } from '../../errors.ts';
import { log } from '../../log.ts';
import type { Store } from '../../store/store.ts';
import { Server, type Connection as SshClient } from '../../lib/ssh2.ts';
import { algorithmsFor } from './algorithms.ts';
import { logLoginFailed, offeredMethods, SshAuthentication, type AuthSettings } from './auth.ts';
import { loadTrustedCAs } from '../../auth/certificates.ts';
import { admitSocket, loginSucceeded, type AuthEnv, type LoginMethod } from '../../auth/login.ts';
import { enabledCommands, runCommand } from './commands.ts';
import { loadHostKeys } from './host-keys.ts';
import { SftpSession } from './sftp-session.ts';

const DEFAULT_GRACE_SECONDS = 120;
const DEFAULT_IDLE_MINUTES = 15;
const DEFAULT_MAX_AUTH_TRIES = 6;

export interface SftpServerOptions {
  config: Config;
  dataDir: string;
  store: Store;
}

export class SftpServer {
  #config: Config;
  readonly #listeners: InstanceType<typeof Server>[] = [];
  readonly #clients = new Set<SshClient>();
  readonly #connections = new Set<Connection>();
  readonly #sessions = new Set<SftpSession>();
  #idleCheck = false;
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
    for (const s of this.#sessions) n += s.openHandles;
    return n;
  }

  async start(): Promise<void> {
    const cfg = this.#sftpd;
    const hostKeys = loadHostKeys(cfg.host_keys, this.opts.dataDir);
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
      const server = new Server(serverConfig as never, (client, info) => this.#accept(client, info.ip));
      // ssh2 reports a connection only once the client sent its identification line, so the login
      // grace time is armed on the raw socket: a client that connects and says nothing is dropped too.
      (server as unknown as { _srv: NetServer })._srv.on('connection', (socket: Socket) => {
        this.#armGrace(socket);
        // Step 0 of the login pipeline; authentication waits for it, a refusal closes the socket.
        void admitSocket(this.#authEnv(), socket, plainIp(socket.remoteAddress), 'SSH').then((refused) => {
          if (refused) socket.destroy();
        });
      });
      const host = b.address || '0.0.0.0';
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(b.port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err: Error) => log('error', 'sftp_listener_error', { error: err.message }));
      this.#listeners.push(server);
      const addr = server.address() as AddressInfo;
      log('info', 'sftp_listening', { address: addr.address, port: addr.port });
    }
    connections.startIdleCheck(this.#config.common?.idle_timeout ?? DEFAULT_IDLE_MINUTES);
    this.#idleCheck = true;
  }

  async reload(config: Config): Promise<void> {
    // Listeners, keys and algorithms stay as started; users, trusted CAs and per-login settings
    // follow the new config (a CA file that no longer loads keeps the previous set).
    try {
      this.#trustedCAs = loadTrustedCAs(config.sftpd?.trusted_user_ca_keys, this.opts.dataDir);
    } catch (err) {
      log('error', 'sftp_trusted_ca_reload_failed', { error: (err as Error).message });
    }
    this.#config = config;
  }

  async stop(): Promise<void> {
    // A listener's close completes only once its clients are gone: stop accepting, drop the
    // clients, then wait.
    const closed = this.#listeners.splice(0).map((s) => new Promise<void>((r) => s.close(() => r())));
    await Promise.allSettled([...this.#connections].map((c) => c.close()));
    for (const c of this.#clients) c.end();
    this.#clients.clear();
    await Promise.all(closed);
    if (this.#idleCheck) connections.releaseIdleCheck();
    this.#idleCheck = false;
  }

  #authEnv(): AuthEnv {
    return { store: this.opts.store, config: this.#config };
  }

  /** Sockets whose client authenticated: the login grace timer leaves them alone. */
  readonly #authenticated = new WeakSet<Socket>();

  #armGrace(socket: Socket): void {
    const seconds = this.#sftpd.login_grace_time || DEFAULT_GRACE_SECONDS;
    const timer = setTimeout(() => {
      if (this.#authenticated.has(socket)) return;
      logLoginFailed(socket.remoteAddress ?? '', '', 'none', 'login_grace_time_exceeded');
      socket.destroy();
    }, seconds * 1000);
    socket.once('close', () => clearTimeout(timer));
  }

  #accept(client: SshClient, ip: string): void {
    this.#clients.add(client);
    const cfg = this.#sftpd;
    const settings = coreSettingsFor(this.#config, this.opts.store);
    const maxTries = (cfg.max_auth_tries ?? 0) === 0 ? DEFAULT_MAX_AUTH_TRIES : cfg.max_auth_tries! < 0 ? Infinity : cfg.max_auth_tries!;
    let failures = 0;
    let conn: Connection | undefined;
    const authEnv = (): AuthEnv => this.#authEnv();
    const socket = (client as unknown as { _sock: Socket })._sock;
    // Aborts a keyboard-interactive exchange (and kills its hook) when the client goes away.
    const gone$ = new AbortController();
    const auth = new SshAuthentication(ip, gone$.signal);

    /** The last username a client tried, for the protocol error line. */
    let tried = '';

    client.on('authentication', (ctx) => {
      tried = ctx.username;
      void (async () => {
        if (await admitSocket(authEnv(), socket, ip, 'SSH')) {
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
        const outcome = await auth.authenticate(authEnv(), ctx, authSettings);
        if (outcome.ok === 'skip') return ctx.reject(outcome.methods ?? methods, outcome.partial === true);
        if (outcome.ok === 'query') return ctx.accept();
        if (outcome.ok === 'partial') {
          log('info', 'login_partial', { ip, protocol: 'SSH', username: outcome.username, method: outcome.method, next: outcome.methods });
          return ctx.reject(outcome.methods, true);
        }
        if (outcome.ok === false) {
          logLoginFailed(ip, outcome.username, outcome.method, outcome.reason, authEnv());
          if (++failures >= maxTries) {
            logLoginFailed(ip, outcome.username, outcome.method, 'max_auth_tries');
            ctx.reject();
            client.end();
            return;
          }
          return ctx.reject(methods);
        }
        const refusal = loginRefusal(outcome.user, Date.now(), connections.countFor(outcome.user.username));
        if (refusal) {
          logLoginFailed(ip, outcome.user.username, outcome.method, refusal, authEnv());
          return ctx.reject(methods);
        }
        try {
          conn = await openConnection(outcome.user, settings, { protocol: 'SSH', remoteAddress: ip, disconnect: () => client.end() });
        } catch (err) {
          logLoginFailed(ip, outcome.user.username, outcome.method, (err as AppError).code ?? 'error', authEnv());
          return ctx.reject(methods);
        }
        this.#connections.add(conn);
        log('info', 'login', { connection: conn.id, ip, protocol: 'SSH', username: conn.username, method: outcome.method });
        loginSucceeded(authEnv(), { protocol: 'SSH', ip, username: conn.username, method: outcome.method as LoginMethod }, conn.user);
        ctx.accept();
      })().catch((err) => {
        log('error', 'sftp_auth_error', { ip, error: String(err) });
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
        const session = acceptSession();
        session.on('pty', (_accept, reject) => reject?.());
        session.on('shell', (_accept, reject) => {
          log('info', 'ssh_shell_refused', { connection: conn?.id, username: conn?.username, ip });
          reject?.();
        });
        session.on('sftp', (accept) => {
          if (!conn) return;
          conn.protocol = 'SFTP';
          const s = new SftpSession(accept(), conn, () => this.#sessions.delete(s));
          this.#sessions.add(s);
        });
        session.on('exec', (accept, _reject, info) => {
          if (!conn) return;
          const ch = accept();
          void runCommand(ch, conn, info.command, enabledCommands(this.#sftpd.enabled_ssh_commands));
        });
      });
    });

    const gone = (): void => {
      gone$.abort();
      this.#clients.delete(client);
      if (conn) {
        this.#connections.delete(conn);
        const c = conn;
        void c.close().then(() =>
          // The released counts let tests (and operators) see that nothing leaked.
          log('info', 'logout', {
            connection: c.id, username: c.username, ip, duration_ms: Date.now() - c.startedAt,
            open_transfers: connections.openTransfers(), open_handles: this.openHandles, live_connections: connections.list().length,
          }),
        );
      }
    };
    client.on('close', gone);
    client.on('error', (err: Error) => {
      if (isConnectionNoise(err)) return log('debug', 'ssh_client_error', { ip, error: err.message });
      protocolError({ ip, protocol: 'SSH', username: conn?.username ?? tried, error: err.message });
    });
  }
}
