// A minimal FTP control-connection client for tests that need exact reply codes (clients like lftp
// and curl only report success or failure): send a command, read the (multi-line) reply, open
// passive data connections, optionally over TLS.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface FtpReply {
  code: number;
  text: string;
  lines: string[];
}

export class FtpControl {
  #sock: Socket | TLSSocket;
  #buf = '';
  #lines: string[] = [];
  #replies: FtpReply[] = [];
  #waiters: ((r: FtpReply) => void)[] = [];
  #closed = false;
  greeting!: FtpReply;

  private constructor(sock: Socket | TLSSocket, readonly port: number) {
    this.#sock = sock;
    this.#listen();
  }

  static async connect(port: number, opts: { implicitTls?: boolean } = {}): Promise<FtpControl> {
    const sock = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s = opts.implicitTls
        ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s))
        : netConnect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new FtpControl(sock, port);
    c.greeting = await c.read();
    return c;
  }

  #listen(): void {
    this.#sock.setEncoding('utf8');
    this.#sock.on('data', (d: string) => {
      this.#buf += d;
      let nl: number;
      while ((nl = this.#buf.indexOf('\r\n')) >= 0) {
        this.#lines.push(this.#buf.slice(0, nl));
        this.#buf = this.#buf.slice(nl + 2);
        this.#collect();
      }
    });
    this.#sock.on('error', () => undefined);
    this.#sock.on('close', () => {
      this.#closed = true;
      for (const w of this.#waiters.splice(0)) w({ code: 0, text: 'connection closed', lines: [] });
    });
  }

  #collect(): void {
    const first = this.#lines[0];
    if (!first) return;
    const m = /^(\d{3})([ -])/.exec(first);
    if (!m) {
      this.#lines.shift();
      return;
    }
    let end = 0;
    if (m[2] === '-') {
      end = this.#lines.findIndex((l, i) => i > 0 && l.startsWith(`${m[1]} `));
      if (end < 0) return;
    }
    const lines = this.#lines.splice(0, end + 1);
    const reply = { code: Number(m[1]), text: lines[lines.length - 1]!.slice(4), lines };
    const w = this.#waiters.shift();
    if (w) w(reply);
    else this.#replies.push(reply);
  }

  get closed(): boolean {
    return this.#closed;
  }

  read(timeoutMs = 10_000): Promise<FtpReply> {
    const r = this.#replies.shift();
    if (r) return Promise.resolve(r);
    if (this.#closed) return Promise.resolve({ code: 0, text: 'connection closed', lines: [] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no FTP reply in time')), timeoutMs);
      this.#waiters.push((reply) => (clearTimeout(timer), resolve(reply)));
    });
  }

  async send(line: string): Promise<FtpReply> {
    this.#sock.write(`${line}\r\n`);
    return this.read();
  }

  async login(user: string, password: string): Promise<FtpReply> {
    const u = await this.send(`USER ${user}`);
    if (u.code !== 331) return u;
    return this.send(`PASS ${password}`);
  }

  /** AUTH TLS, then the same socket continues as a TLS client. */
  async startTls(): Promise<FtpReply> {
    const r = await this.send('AUTH TLS');
    if (r.code !== 234) return r;
    const plain = this.#sock;
    plain.removeAllListeners('data');
    this.#sock = await new Promise<TLSSocket>((resolve, reject) => {
      const t = tlsConnect({ socket: plain, rejectUnauthorized: false }, () => resolve(t));
      t.once('error', reject);
    });
    this.#listen();
    return r;
  }

  /** EPSV, then connects to the announced port. */
  async passive(tls = false): Promise<{ reply: FtpReply; socket?: Socket }> {
    const reply = await this.send('EPSV');
    const m = /\(\|\|\|(\d+)\|\)/.exec(reply.text);
    if (reply.code !== 229 || !m) return { reply };
    const port = Number(m[1]);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = tls
        ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s))
        : netConnect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
    return { reply, socket };
  }

  /** Runs a transfer command over a fresh passive connection: its replies and what came over data. */
  async transfer(command: string, upload?: Buffer): Promise<{ first: FtpReply; last?: FtpReply; data: Buffer }> {
    const { reply, socket } = await this.passive();
    if (!socket) return { first: reply, data: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('close', () => resolve());
      socket.on('error', () => undefined);
    });
    const first = await this.send(command);
    if (first.code !== 150 && first.code !== 125) {
      socket.destroy();
      return { first, data: Buffer.alloc(0) };
    }
    if (upload) socket.end(upload);
    await closed;
    const last = await this.read();
    return { first, last, data: Buffer.concat(chunks) };
  }

  /** SHA-256 fingerprint of the server certificate ("" on a plain connection). */
  peerFingerprint(): string {
    const s = this.#sock as TLSSocket;
    return typeof s.getPeerCertificate === 'function' ? (s.getPeerCertificate().fingerprint256 ?? '') : '';
  }

  close(): void {
    this.#sock.destroy();
  }
}

/**
 * The reply codes of a session that logs in over explicit TLS, then asks for clear data (PBSZ 0,
 * PROT C) and tries a clear NLST anyway, then a NOOP: what a server that requires TLS on data
 * connections answers at each step.
 */
export async function clearDataAfterTls(port: number, username: string, password: string): Promise<Record<'auth' | 'login' | 'pbsz' | 'prot' | 'nlst' | 'noop', number>> {
  const c = await FtpControl.connect(port);
  try {
    const auth = (await c.startTls()).code;
    const login = (await c.login(username, password)).code;
    const pbsz = (await c.send('PBSZ 0')).code;
    const prot = (await c.send('PROT C')).code;
    const nlst = (await c.transfer('NLST')).first.code;
    const noop = (await c.send('NOOP')).code;
    return { auth, login, pbsz, prot, nlst, noop };
  } finally {
    c.close();
  }
}
