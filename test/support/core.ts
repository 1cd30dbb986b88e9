// The session core in process, without any listener or protocol: a ServerContext over an LMDB
// store in a temp dir with its usage book open, users and folders reconciled from a YAML snippet,
// and logins whose home and virtual folders are MemoryFs instances. Each harness removes its
// store and temp dir on close().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.ts';
import type { Connection, Protocol } from '../../src/core/connection.ts';
import { ServerContext } from '../../src/core/context.ts';
import { coreSettingsFor } from '../../src/core/login.ts';
import type { Mount } from '../../src/core/paths.ts';
import { FilePatterns } from '../../src/core/patterns.ts';
import { folderQuota, openUsageBook, userQuota, type StoreUsageBook, type Usage } from '../../src/core/quota.ts';
import { Session } from '../../src/core/session.ts';
import type { UserFs } from '../../src/core/user-fs.ts';
import type { UserRecord } from '../../src/model.ts';
import { reconcile } from '../../src/reconcile/reconcile.ts';
import type { ApplyResult } from '../../src/reconcile/apply.ts';
import type { Plan } from '../../src/reconcile/plan.ts';
import type { Log } from '../../src/log.ts';
import { openLmdbStore } from '../../src/store/lmdb.ts';
import { migrateUp } from '../../src/store/migrations.ts';
import type { Store } from '../../src/store/store.ts';
import { MemoryFs } from '../../src/vfs/memory/memory-fs.ts';

export interface CoreOptions {
  /** The config the server runs with: users, folders, `common`, `data_provider`... */
  yaml: string;
}

export interface LoginOptions {
  username: string;
  /** The channel's protocol (default SFTP, over an SSH login). */
  protocol?: Protocol;
}

/** One logged-in channel and the in-memory storage behind it. */
export interface CoreLogin {
  session: Session;
  conn: Connection;
  fs: UserFs;
  /** The backend mounted at "/". */
  home: MemoryFs;
  /** The backend of each virtual folder, by folder name. */
  folders: Record<string, MemoryFs>;
  /** Uploads `data` to `vpath` through the core, as a client would, and completes it. */
  put(vpath: string, data: string | Uint8Array): Promise<void>;
  /** Downloads `vpath` whole through the core. */
  get(vpath: string): Promise<string>;
  /** Entry names of a directory listing through the core, sorted. */
  names(vpath: string): Promise<string[]>;
}

export interface CoreHarness {
  ctx: ServerContext;
  store: Store;
  usage: StoreUsageBook;
  dataDir: string;
  /** Lines the server logged. */
  lines: Record<string, unknown>[];
  /** Reconciles another YAML into the store, as a reload does. */
  reconcile(yaml: string): Promise<ApplyResult & { plan: Plan }>;
  user(username: string): Promise<UserRecord>;
  /** Usage as the book counts it (`user:<name>` or `folder:<name>`). */
  usageOf(key: string): Usage;
  login(opts: LoginOptions): Promise<CoreLogin>;
  close(): Promise<void>;
}

function parse(yaml: string, dir: string) {
  const loaded = parseConfigText(yaml, 'core.yaml', dir);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  return loaded.value;
}

export async function openCore(opts: CoreOptions): Promise<CoreHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'core-'));
  const dataDir = join(dir, 'data');
  const loaded = parse(opts.yaml, dir);
  // Everything the server logs (migrations and reconcile included) lands in `lines`.
  const lines: Record<string, unknown>[] = [];
  const log: Log = (level, event, fields) => void lines.push({ level, event, ...fields });
  const store = openLmdbStore(dataDir, { log });
  await migrateUp(store, { log });
  const usage = await openUsageBook(store);
  const ctx = new ServerContext({ config: loaded.config, dataDir, store, usage, log, reload: async () => ({ ok: true }) });
  await reconcile(loaded, dataDir, ctx.records, log);

  const sessions: Session[] = [];
  const user = async (username: string): Promise<UserRecord> => {
    const u = await ctx.records.effectiveUser(username);
    if (!u) throw new Error(`no user ${username}`);
    return u;
  };

  return {
    ctx,
    store,
    usage,
    dataDir,
    lines,
    user,
    usageOf: (key) => usage.get(key),
    async reconcile(yaml) {
      const next = parse(yaml, dir);
      ctx.config = next.config;
      ctx.records = ctx.recordsFor(next.config);
      return reconcile(next, dataDir, ctx.records, log);
    },
    async login({ username, protocol = 'SFTP' }) {
      const u = await user(username);
      const settings = coreSettingsFor(ctx);
      const quota = <T>(make: (book: StoreUsageBook) => T) => (settings.usage ? { quota: make(usage) } : {});
      const home = new MemoryFs();
      const folders: Record<string, MemoryFs> = {};
      const mounts: Mount[] = [{ virtualPath: '/', fs: home, ...quota((b) => userQuota(b, u)) }];
      for (const vf of u.virtual_folders ?? []) {
        const fs = (folders[vf.name] = new MemoryFs());
        mounts.push({ virtualPath: vf.virtual_path, fs, folder: vf.name, ...quota((b) => folderQuota(b, u, vf)) });
      }
      const session = new Session({
        user: u,
        protocol: protocol === 'SFTP' || protocol === 'SCP' ? 'SSH' : protocol,
        remoteAddress: '127.0.0.1',
        method: 'password',
        mounts,
        patterns: new FilePatterns(u.filters?.file_patterns),
        startDirectory: '/',
        settings,
        context: ctx,
        single: false,
        onEnded: () => undefined,
      });
      ctx.connections.addSession(session);
      sessions.push(session);
      const conn = session.connect({ protocol, disconnect: () => undefined });
      const fs = conn.fs;
      return {
        session,
        conn,
        fs,
        home,
        folders,
        async put(vpath, data) {
          const up = await fs.openUpload(conn, vpath);
          await up.write(typeof data === 'string' ? Buffer.from(data) : data, 0);
          await up.close();
        },
        async get(vpath) {
          const down = await fs.openDownload(conn, vpath);
          const chunks: Buffer[] = [];
          for (let pos = 0; ; ) {
            const buf = new Uint8Array(64 * 1024);
            const n = await down.read(buf, pos);
            if (n === 0) break;
            chunks.push(Buffer.from(buf.subarray(0, n)));
            pos += n;
          }
          await down.close();
          return Buffer.concat(chunks).toString();
        },
        async names(vpath) {
          const out: string[] = [];
          for await (const e of await fs.openDir(vpath)) out.push(e.name);
          return out.sort();
        },
      };
    },
    async close() {
      await Promise.allSettled(sessions.map((s) => s.close()));
      await usage.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes files straight to a backend (parent directories made), bypassing the core's checks. */
export async function seed(fs: MemoryFs, files: Record<string, string>): Promise<void> {
  for (const [path, data] of Object.entries(files)) {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) await fs.mkdir(`/${parts.slice(0, i).join('/')}`).catch(() => undefined);
    const w = await fs.openWrite(path);
    await w.write(Buffer.from(data));
    await w.close();
  }
}

/** Names under a backend directory, sorted, as the backend holds them (temp files included). */
export async function backendNames(fs: MemoryFs, dir = '/'): Promise<string[]> {
  const out: string[] = [];
  for await (const e of fs.list(dir)) out.push(e.name);
  return out.sort();
}

/** Reads a whole file straight from a backend. */
export async function backendText(fs: MemoryFs, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await fs.openRead(path)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}
