// FTP and WebDAV side by side, one run: this server (compiled binary) against vsftpd for FTP (Debian's
// rclone 1.60 has no `serve ftp`) and against Apache httpd (mod_dav_fs) and `rclone serve webdav`
// for WebDAV. Same clients for every server (lftp for FTP, curl for single WebDAV files, rclone for
// many small WebDAV files), interleaved rounds, medians. Prints Markdown tables with ratios (to
// vsftpd, and to Apache httpd for WebDAV) and the server's CPU (user + system): seconds per GB
// moved for big files, milliseconds per file for small ones, and its user part alone (the kernel's
// part swings with the state of a shared disk); vsftpd's includes the session processes it forks
// (sampled while they run).
//
//   bun bench/ftp-dav.ts [--rounds 3] [--size-mb 256] [--small-files 1000] [--only ftp,dav]
//
// --baseline BINARY adds another compiled build (say, of the previous commit) as its own row, run
// like this server and interleaved with it, to check a change for regressions in the same run.
// --no-mtime stops lftp from setting each uploaded file's time (MFMT here; vsftpd has no MFMT and
// refuses lftp's SITE UTIME fallback without touching the disk), so both servers get the same
// commands per file: PASV and STOR up; SIZE, MDTM, PASV and RETR down.
// Apache comes from scripts/install-bench-deps.sh; without it the WebDAV table has no Apache row.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../test/support/net.ts';
import { tempDir, removeTempDirs } from '../test/support/tmp.ts';
import { roomInShm } from './fixtures.ts';
import { cpuSplit, processTree, watchTreeCpu } from './proc.ts';

const root = resolve(import.meta.dir, '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : def);
const ROUNDS = Number(opt('--rounds', '3'));
const SIZE_MB = Number(opt('--size-mb', '256'));
const SMALL = Number(opt('--small-files', '1000'));
const ONLY = opt('--only', 'ftp,dav').split(',');
const BASELINE = opt('--baseline', '');
const NO_MTIME = args.includes('--no-mtime');
const PASSWORD = 'bench-Pass-1';
const work = tempDir('bench-ftpdav-');
const big = join(work, 'big.bin');
{
  const fd = openSync(big, 'w');
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < SIZE_MB; i++) (block.fill(i & 0xff), block.writeUInt32LE(i, 0), writeSync(fd, block));
  closeSync(fd);
}
const smallDir = join(work, 'small');
mkdirSync(smallDir);
for (let i = 0; i < SMALL; i++) writeFileSync(join(smallDir, `s${i}.bin`), Buffer.alloc(4096, i % 251));
const binary = join(root, 'dist/sftpgo');
if (!existsSync(binary)) spawnSync(join(root, 'node_modules/.bin/bun'), [join(root, 'scripts/build.ts')], { stdio: 'inherit' });

async function waitPort(port: number, proc: ChildProcess, name: string): Promise<void> {
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}`);
    if (spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0) return;
    if (i > 300) throw new Error(`${name} did not listen`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exec(cmd: string, argv: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.once('exit', (code) => (code === 0 ? res() : rej(new Error(`${cmd} exited ${code}: ${err.slice(-400)}`))));
  });
}

/** Servers this run started: stopped however it ends, a failed start included. */
const started: ChildProcess[] = [];
process.on('exit', () => started.forEach((p) => p.exitCode === null && p.kill('SIGTERM')));
function track(p: ChildProcess): ChildProcess {
  started.push(p);
  return p;
}
function chownTree(dir: string, uid: number, gid: number): void {
  spawnSync('chown', ['-R', `${uid}:${gid}`, dir]);
}

// ---- this server (and the baseline build): FTP + WebDAV, one user each ----
interface Ours {
  name: string;
  ftp: number;
  dav: number;
  proc: ChildProcess;
}
async function startOurs(name: string, bin: string, tag: string, pasvStart: number): Promise<Ours> {
  const o = { ftp: await freePort(), dav: await freePort(), home: join(work, `${tag}-home`) };
  writeFileSync(
    join(work, `${tag}.yaml`),
    `ftpd:\n  bindings: [{ address: 127.0.0.1, port: ${o.ftp} }]\n  passive_port_range: { start: ${pasvStart}, end: ${pasvStart + 99} }\nwebdavd:\n  bindings: [{ address: 127.0.0.1, port: ${o.dav} }]\nlog: { level: warn }\nusers:\n  - { username: bench, password: ${PASSWORD}, home_dir: ${o.home} }\n`,
  );
  const proc = track(spawn(bin, ['serve', '--config', join(work, `${tag}.yaml`), '--data-dir', join(work, `${tag}-data`)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, MIMALLOC_PURGE_DELAY: '-1' },
  }));
  await waitPort(o.dav, proc, name);
  return { name, ftp: o.ftp, dav: o.dav, proc };
}
const pasv = { start: 41000, end: 41099 };
const oursAll: Ours[] = [await startOurs('this server', binary, 'ours', pasv.start)];
if (BASELINE) {
  if (!existsSync(BASELINE)) throw new Error(`--baseline ${BASELINE}: no such binary`);
  oursAll.push(await startOurs('baseline build', resolve(BASELINE), 'base', pasv.start + 400));
}

// ---- vsftpd: anonymous with uploads into a directory owned by its `ftp` user ----
const vs = { port: await freePort(), root: join(work, 'vsftpd') };
mkdirSync(join(vs.root, 'up'), { recursive: true });
chmodSync(vs.root, 0o555);
const ftpUid = Number(spawnSync('id', ['-u', 'ftp'], { encoding: 'utf8' }).stdout.trim());
const ftpGid = Number(spawnSync('id', ['-g', 'ftp'], { encoding: 'utf8' }).stdout.trim());
chownSync(join(vs.root, 'up'), ftpUid, ftpGid);
mkdirSync('/var/run/vsftpd/empty', { recursive: true });
writeFileSync(
  join(work, 'vsftpd.conf'),
  [
    'listen=YES', 'listen_ipv6=NO', 'listen_address=127.0.0.1', `listen_port=${vs.port}`, 'background=NO',
    'anonymous_enable=YES', 'no_anon_password=YES', `anon_root=${vs.root}`, 'write_enable=YES', 'anon_upload_enable=YES',
    'anon_mkdir_write_enable=YES', 'anon_other_write_enable=YES', 'anon_umask=022', 'local_enable=NO',
    `pasv_min_port=${pasv.start + 200}`, `pasv_max_port=${pasv.end + 200}`, 'seccomp_sandbox=NO', 'xferlog_enable=NO',
    'secure_chroot_dir=/var/run/vsftpd/empty', 'pasv_promiscuous=YES', 'max_per_ip=0', 'max_clients=0',
  ].join('\n') + '\n',
);
const vsftpd = track(spawn('/usr/sbin/vsftpd', [join(work, 'vsftpd.conf')], { stdio: ['ignore', 'ignore', 'inherit'] }));
await waitPort(vs.port, vsftpd, 'vsftpd');

// ---- rclone serve webdav ----
const rc = { port: await freePort(), root: join(work, 'rclone') };
mkdirSync(rc.root);
const rclone = track(spawn('rclone', ['serve', 'webdav', rc.root, '--addr', `127.0.0.1:${rc.port}`, '--user', 'bench', '--pass', PASSWORD, '--config', '/dev/null', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] }));
await waitPort(rc.port, rclone, 'rclone');

// ---- Apache httpd with mod_dav_fs: its own config, on a loopback port, never as root ----
const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
let apache: ChildProcess | undefined;
// Its own directory: the work directory is private to this user, and httpd may run as another.
// Two ports: Apache's defaults (EnableSendfile Off since 2.3.9: files are copied into the socket)
// and the same with EnableSendfile On, downloads only, the kernel path this server and vsftpd use.
// On loopback the client pays more to receive what sendfile sent (curl's system time for 256 MiB:
// 0.23-0.25 s from this server or from Apache with sendfile, 0.15 s from Apache's default), so the
// second row shows what the first row's gap is made of.
const ap = { port: await freePort(), sendfilePort: await freePort(), dir: tempDir('bench-apache-') };
if (existsSync(APACHE) && existsSync(join(MODULES, 'mod_dav_fs.so'))) {
  mkdirSync(join(ap.dir, 'dav'), { recursive: true });
  const sha = createHash('sha1').update(PASSWORD).digest('base64');
  writeFileSync(join(ap.dir, 'htpasswd'), `bench:{SHA}${sha}\n`);
  const mods = ['mpm_event', 'authn_core', 'authn_file', 'authz_core', 'authz_user', 'auth_basic', 'dav', 'dav_fs', 'mime'];
  writeFileSync(
    join(ap.dir, 'httpd.conf'),
    [
      ...mods.map((m) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`),
      `ServerRoot ${ap.dir}`, 'ServerName 127.0.0.1', `Listen 127.0.0.1:${ap.port}`, `Listen 127.0.0.1:${ap.sendfilePort}`, `PidFile ${ap.dir}/httpd.pid`,
      `ErrorLog ${ap.dir}/error.log`, 'LogLevel warn', `DefaultRuntimeDir ${ap.dir}`, `DavLockDB ${ap.dir}/davlock`,
      'KeepAlive On', 'TypesConfig /etc/mime.types', `DocumentRoot ${ap.dir}/dav`,
      `<Directory ${ap.dir}/dav>`, '  Dav On', '  AuthType Basic', '  AuthName bench', `  AuthUserFile ${ap.dir}/htpasswd`, '  Require valid-user', '</Directory>',
      `<VirtualHost 127.0.0.1:${ap.sendfilePort}>`, '  EnableSendfile On', '</VirtualHost>',
    ].join('\n') + '\n',
  );
  // httpd refuses to run as root: as root, the instance runs as the unprivileged www-data.
  const asRoot = process.getuid?.() === 0;
  const uid = asRoot ? Number(spawnSync('id', ['-u', 'www-data'], { encoding: 'utf8' }).stdout.trim()) : undefined;
  const gid = asRoot ? Number(spawnSync('id', ['-g', 'www-data'], { encoding: 'utf8' }).stdout.trim()) : undefined;
  if (asRoot) chownTree(ap.dir, uid!, gid!);
  apache = track(spawn(APACHE, ['-f', join(ap.dir, 'httpd.conf'), '-DFOREGROUND'], { stdio: ['ignore', 'ignore', 'inherit'], ...(asRoot ? { uid, gid } : {}) }));
  await waitPort(ap.port, apache, 'apache2');
} else process.stderr.write('apache2 with mod_dav_fs not installed (scripts/install-bench-deps.sh): no Apache row\n');

interface FtpTarget {
  name: string;
  port: number;
  login: string;
  dir: string;
  /** The server process whose CPU time is reported. */
  proc?: ChildProcess;
  /** Count the processes it forks too (vsftpd: per session), sampled while they run. */
  forks?: boolean;
}
const ftpTargets: FtpTarget[] = [
  ...oursAll.map((o) => ({ name: o.name, port: o.ftp, login: `-u bench,${PASSWORD}`, dir: '.', proc: o.proc })),
  { name: 'vsftpd', port: vs.port, login: '-u anonymous,x', dir: 'up', proc: vsftpd, forks: true },
];
// lftp 4.9 has no switch for MFMT alone: it sends MFMT whenever FEAT lists it, so FEAT goes too.
const mtimeOff = NO_MTIME ? 'set ftp:use-feat off; set ftp:use-site-utime off; set ftp:use-site-utime2 off; ' : '';
const lftp = (t: FtpTarget, cmds: string) => exec('lftp', ['-c', `set net:max-retries 1; set xfer:clobber on; ${mtimeOff}open ${t.login} -p ${t.port} 127.0.0.1; cd ${t.dir}; ${cmds}`]);
const APACHE_SENDFILE = 'Apache httpd, EnableSendfile On';
/** `downOnly`: the row downloads what the first Apache row uploaded, and nothing else. */
const davTargets: { name: string; url: string; proc?: ChildProcess; downOnly?: boolean }[] = [
  ...oursAll.map((o) => ({ name: o.name, url: `http://127.0.0.1:${o.dav}`, proc: o.proc })),
  ...(apache
    ? [
        { name: 'Apache httpd (mod_dav_fs)', url: `http://127.0.0.1:${ap.port}` },
        { name: APACHE_SENDFILE, url: `http://127.0.0.1:${ap.sendfilePort}`, downOnly: true },
      ]
    : []),
  { name: 'rclone serve webdav', url: `http://127.0.0.1:${rc.port}` },
];
const curl = (argv: string[]) => exec('curl', ['-sSf', '-u', `bench:${PASSWORD}`, ...argv]);
const obscured = spawnSync('rclone', ['obscure', PASSWORD], { encoding: 'utf8' }).stdout.trim();
/** Many small files over WebDAV: rclone copy (4 transfers), configured through its environment. */
function rcloneCopy(url: string, dest: string): Promise<void> {
  return new Promise((res, rej) => {
    const p = spawn('rclone', ['copy', smallDir, `dav:${dest}`, '--transfers', '4', '-q'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, RCLONE_CONFIG_DAV_TYPE: 'webdav', RCLONE_CONFIG_DAV_URL: url, RCLONE_CONFIG_DAV_VENDOR: 'other', RCLONE_CONFIG_DAV_USER: 'bench', RCLONE_CONFIG_DAV_PASS: obscured },
    });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.once('exit', (code) => (code === 0 ? res() : rej(new Error(`rclone copy exited ${code}: ${err.slice(-300)}`))));
  });
}

async function secs(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

const results = new Map<string, number[]>();
const add = (k: string, v: number) => results.set(k, [...(results.get(k) ?? []), v]);
const MB = (SIZE_MB * 2 ** 20) / 1e6;
/**
 * One big-file transfer (MB/s, and the server's CPU seconds per GB) or, with `small`, one run over
 * the small files (seconds, and the server's CPU milliseconds per file).
 */
async function measure(key: string, t: { proc?: ChildProcess; forks?: boolean }, fn: () => Promise<void>, small = false): Promise<void> {
  // What the previous transfer left dirty is written out first: otherwise each run shares the disk
  // with the writeback of the one before it (measured: the same build's 256 MiB rows moved by up
  // to ×2 between runs of this bench, the peers' too).
  spawnSync('sync');
  const tree = t.proc ? processTree(t.proc.pid!) : [];
  const cpu0 = cpuSplit(tree);
  const watch = t.proc && t.forks ? watchTreeCpu(t.proc.pid!) : undefined;
  const s = await secs(fn);
  add(key, small ? s : MB / s);
  if (!t.proc) return;
  const cpu1 = cpuSplit(tree);
  const cpu = watch ? watch() : cpu1.user + cpu1.sys - cpu0.user - cpu0.sys;
  const per = (v: number) => (small ? (v / SMALL) * 1000 : v / (MB / 1000));
  add(`${key}|cpu`, per(cpu));
  // The user part alone (not for forking servers): the kernel's part swings with the disk's state.
  if (!watch) add(`${key}|user`, per(cpu1.user - cpu0.user));
}
const smallGot = join(work, 'small-got');
// Big downloads land in memory (tmpfs) where the machine has one with room: on disk, the client's own writes
// set the pace and the row measured the disk, not the server.
const sink = roomInShm(SIZE_MB * 2 ** 20) ? mkdtempSync('/dev/shm/bench-ftpdav-') : work;
try {
  for (let round = 0; round < ROUNDS; round++) {
    if (ONLY.includes('ftp'))
      for (const t of ftpTargets) {
        await measure(`ftp|${t.name}|up`, t, () => lftp(t, `put ${big} -o big-${round}.bin`));
        await measure(`ftp|${t.name}|down`, t, () => lftp(t, `get big-${round}.bin -o ${join(sink, 'ftp-got.bin')}`));
        await measure(`ftp|${t.name}|small`, t, () => lftp(t, `mkdir small-${round}; mput -O small-${round} ${smallDir}/*`), true);
        rmSync(smallGot, { recursive: true, force: true });
        mkdirSync(smallGot);
        await measure(`ftp|${t.name}|smalldown`, t, () => lftp(t, `mget -O ${smallGot} small-${round}/*`), true);
      }
    if (ONLY.includes('dav'))
      for (const t of davTargets) {
        if (!t.downOnly) await measure(`dav|${t.name}|up`, t, () => curl(['-T', big, `${t.url}/big-${round}.bin`]));
        await measure(`dav|${t.name}|down`, t, () => curl(['-o', join(sink, 'dav-got.bin'), `${t.url}/big-${round}.bin`]));
        if (!t.downOnly) await measure(`dav|${t.name}|small`, t, () => rcloneCopy(t.url, `small-${round}`), true);
      }
    process.stderr.write(`round ${round + 1} done\n`);
  }
} finally {
  for (const p of [...oursAll.map((o) => o.proc), vsftpd, rclone, apache]) p?.kill('SIGTERM');
  if (sink !== work) rmSync(sink, { recursive: true, force: true });
}
const med = (k: string) => {
  const xs = [...(results.get(k) ?? [NaN])].sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
};
const out = [
  `${SIZE_MB} MiB file up/down (MB/s, with the server's CPU s/GB) and ${SMALL} × 4 KiB files (s, with the server's CPU ms per file), median of ${ROUNDS} interleaved rounds, \`sync\` before each, downloads into ${sink === work ? 'the work directory' : 'tmpfs'}; ratio = row / reference peer${NO_MTIME ? "; lftp sets no file times (--no-mtime)" : ""}.`,
  '',
];
const tables = [
  { proto: 'ftp', title: 'FTP', peer: 'vsftpd', rows: ftpTargets.map((t) => t.name), client: 'lftp (mput and mget for small files)', cols: ['up', 'down', 'small', 'smalldown'] },
  { proto: 'dav', title: 'WebDAV', peer: apache ? 'Apache httpd (mod_dav_fs)' : 'rclone serve webdav', rows: davTargets.map((t) => t.name), client: 'curl; rclone copy --transfers 4 for small files', cols: ['up', 'down', 'small'] },
] as const;
const heads: Record<string, string> = { up: 'up', down: 'down', small: `${SMALL} small files up`, smalldown: `${SMALL} small files down` };
for (const { proto, title, peer, rows, client, cols } of tables) {
  if (!ONLY.includes(proto)) continue;
  out.push(`### ${title} (client: ${client}; ratio to ${peer})`, '', `| server | ${cols.map((c) => heads[c]).join(' | ')} |`, `|---|${cols.map(() => '---|').join('')}`);
  for (const name of rows) {
    const r = (m: string, lowerBetter = false) => {
      if (!results.has(`${proto}|${name}|${m}`)) return '';
      const v = med(`${proto}|${name}|${m}`);
      const p = med(`${proto}|${peer}|${m}`);
      const user = results.has(`${proto}|${name}|${m}|user`) ? `, user ${med(`${proto}|${name}|${m}|user`).toFixed(2)}` : '';
      const cpu = results.has(`${proto}|${name}|${m}|cpu`) ? ` (${med(`${proto}|${name}|${m}|cpu`).toFixed(2)}${user})` : '';
      const text = `${v.toFixed(m.startsWith('small') ? 2 : 0)}${cpu}`;
      return name === peer ? text : `${text} ×${(lowerBetter ? p / v : v / p).toFixed(2)}`;
    };
    out.push(`| ${name} | ${cols.map((c) => r(c, c.startsWith('small'))).join(' | ')} |`);
  }
  out.push('');
}
console.log(out.join('\n'));
rmSync(work, { recursive: true, force: true });
removeTempDirs();
