// The cost of groups at login: the effective user of a member of 5 groups (1 primary, 3 secondary,
// 1 membership; each with permissions, a virtual folder and filters) read from a real LMDB store,
// against the same user without groups, and the pure merge alone. In process, no server: this is
// what the login gate and the current-users memo pay per lookup. Prints a Markdown table of
// microseconds per lookup, median of the rounds. Then whole logins: `serve` from source with the
// same groups, and SFTP logins by public key (ssh2 client: handshake, auth, sftp subsystem, one
// listing of /) as the member, as a user with the same virtual folders of its own, and as a user
// with neither, interleaved; milliseconds per login, median.
//   bun bench/groups.ts [--lookups 20000] [--rounds 5] [--logins 40]
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBox } from '../src/config/sealed.ts';
import { applyGroups, resolveGroup, userWithGroups, type ResolvedGroup } from '../src/store/groups.ts';
import { openLmdbStore } from '../src/store/lmdb.ts';
import { migrateUp } from '../src/store/migrations.ts';
import { effectiveGroup, effectiveUser, hashingOptions, Records } from '../src/store/records.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : def);
const LOOKUPS = Number(opt('--lookups', '20000'));
const ROUNDS = Number(opt('--rounds', '5'));
const LOGINS = Number(opt('--logins', '40'));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-groups-'));
const store = openLmdbStore(dir);
try {
  await migrateUp(store, { log: () => {} });
  const records = new Records({ store, secrets: new SecretBox(randomBytes(32)), hashing: hashingOptions(undefined) });
  const names = ['primary', 's1', 's2', 's3', 'members'];
  await records.write(async (tx) => {
    for (const [i, name] of names.entries()) {
      await tx.put('folder', `f-${name}`, { name: `f-${name}`, mapped_path: `/srv/${name}/%username%` }, { source: 'config' });
      await tx.put('group', name, {
        name,
        user_settings: {
          ...(i === 0 ? { home_dir: '/srv/homes/%username%', quota_size: 1 << 30, max_sessions: 4 } : {}),
          permissions: { ...(i === 0 ? { '/': ['*'] } : {}), [`/${name}`]: ['list', 'download', 'upload'] },
          filters: { allowed_ip: [`10.${i}.0.0/16`], denied_protocols: ['DAV'], file_patterns: [{ path: `/${name}`, denied_patterns: ['*.exe'] }] },
        },
        virtual_folders: [{ name: `f-${name}`, virtual_path: `/${name}` }],
      }, { source: 'config' });
    }
    const base = { status: 1, home_dir: '/home/u', permissions: { '/': ['list'] } };
    await tx.put('user', 'plain', { username: 'plain', ...base }, { source: 'config' });
    await tx.put('user', 'member', { username: 'member', ...base, groups: names.map((name, i) => ({ name, type: i === 0 ? 1 : i === 4 ? 3 : 2 })) }, { source: 'config' });
  });

  const time = async (fn: () => Promise<unknown> | unknown): Promise<number> => {
    const rounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      for (let i = 0; i < LOOKUPS; i++) await fn();
      rounds.push(((performance.now() - t0) * 1000) / LOOKUPS);
    }
    return median(rounds);
  };
  const user = (await effectiveUser(store, 'member'))!;
  const resolved = new Map<string, ResolvedGroup>();
  for (const name of names) resolved.set(name, await resolveGroup(store, (await effectiveGroup(store, name))!));

  const rows = [
    ['user without groups: effectiveUser', await time(() => effectiveUser(store, 'plain'))],
    ['member of 5 groups: effectiveUser (own record)', await time(() => effectiveUser(store, 'member'))],
    ['member of 5 groups: userWithGroups (what a login reads)', await time(() => userWithGroups(store, 'member'))],
    ['applyGroups alone (groups already read)', await time(() => applyGroups(user, resolved))],
  ] as const;
  console.log(`| lookup | µs per lookup (median of ${ROUNDS} × ${LOOKUPS}) |\n|---|---|`);
  for (const [what, us] of rows) console.log(`| ${what} | ${us.toFixed(1)} |`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

await logins();

/** Whole SFTP logins against a running server: a member of the same 5 groups against a plain user. */
async function logins(): Promise<void> {
  const ssh2 = (await import('ssh2')).default;
  const work = mkdtempSync(join(tmpdir(), 'bench-group-logins-'));
  const key = ssh2.utils.generateKeyPairSync('ed25519');
  const pub = key.public.trim();
  const port = await new Promise<number>((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => res(p));
    });
  });
  const names = ['primary', 's1', 's2', 's3', 'members'];
  for (const n of names) for (const u of ['member', 'direct']) mkdirSync(join(work, n, u), { recursive: true });
  const groups = names
    .map((n, i) => `  - name: ${n}
    user_settings:
${i === 0 ? `      home_dir: ${work}/homes/%username%\n      quota_size: 1073741824\n      max_sessions: 4\n` : ''}      permissions: { ${i === 0 ? '"/": ["*"], ' : ''}"/${n}": [list, download, upload] }
      filters: { denied_protocols: [DAV], file_patterns: [{ path: /${n}, denied_patterns: ["*.exe"] }] }
    virtual_folders: [{ name: f-${n}, virtual_path: /${n} }]`)
    .join('\n');
  writeFileSync(
    join(work, 'sftpgo.yaml'),
    `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nlog: { level: warn }\nfolders:\n${names.map((n) => `  - { name: f-${n}, mapped_path: "${work}/${n}/%username%" }`).join('\n')}\ngroups:\n${groups}\nusers:\n` +
      `  - { username: plain, public_keys: ["${pub}"], home_dir: ${work}/homes/plain, permissions: { "/": ["*"] } }\n` +
      `  - { username: direct, public_keys: ["${pub}"], home_dir: ${work}/homes/direct, permissions: { "/": ["*"] }, virtual_folders: [${names.map((n) => `{ name: f-${n}, virtual_path: /${n} }`).join(', ')}] }\n` +
      `  - { username: member, public_keys: ["${pub}"], groups: [${names.map((n, i) => `{ name: ${n}, type: ${i === 0 ? 1 : i === 4 ? 3 : 2} }`).join(', ')}] }\n`,
  );
  const proc = spawn(process.execPath, [join(import.meta.dir, '../src/main.ts'), 'serve', '--config', join(work, 'sftpgo.yaml'), '--data-dir', join(work, 'data')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const login = (username: string): Promise<number> =>
    new Promise((res, rej) => {
      const t0 = performance.now();
      const c = new ssh2.Client();
      c.on('error', rej)
        .on('ready', () =>
          c.sftp((err, sftp) => {
            if (err) return rej(err);
            sftp.readdir('/', (e) => {
              if (e) return rej(e);
              c.end();
              res(performance.now() - t0);
            });
          }),
        )
        .connect({ host: '127.0.0.1', port, username, privateKey: key.private, readyTimeout: 10_000 });
    });
  try {
    for (let i = 0; ; i++) {
      try {
        await login('plain');
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const times: Record<string, number[]> = { plain: [], direct: [], member: [] };
    for (let i = 0; i < LOGINS; i++) for (const u of ['plain', 'direct', 'member']) times[u]!.push(await login(u));
    console.log(`\n| SFTP login (public key, ssh2 client, + listing /) | ms per login (median of ${LOGINS}) |\n|---|---|`);
    console.log(`| user without groups or folders | ${median(times.plain!).toFixed(2)} |`);
    console.log(`| user without groups, the same 5 virtual folders its own | ${median(times.direct!).toFixed(2)} |`);
    console.log(`| member of 5 groups | ${median(times.member!).toFixed(2)} |`);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(work, { recursive: true, force: true });
  }
}
