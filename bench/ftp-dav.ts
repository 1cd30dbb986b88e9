// FTP and WebDAV side by side, one run: this server (compiled binary) against vsftpd for FTP (Debian's
// rclone 1.60 has no `serve ftp`) and against `rclone serve webdav` for WebDAV. Same clients for
// both sides (lftp for FTP, curl for single WebDAV files, rclone for many small WebDAV files),
// interleaved rounds, medians. Prints Markdown tables with ratios.
//
//   bun bench/ftp-dav.ts [--rounds 3] [--size-mb 256] [--small-files 1000]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../test/support/net.ts';
import { tempDir, removeTempDirs } from '../test/support/tmp.ts';

const root = resolve(import.meta.dir, '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : def);
const ROUNDS = Number(opt('--rounds', '3'));
const SIZE_MB = Number(opt('--size-mb', '256'));
const SMALL = Number(opt('--small-files', '1000'));
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

// ---- this server: FTP + WebDAV, one user ----
const ours = { ftp: await freePort(), dav: await freePort(), home: join(work, 'ours-home') };
const pasv = { start: 41000, end: 41099 };
writeFileSync(
  join(work, 'sftpgo.yaml'),
  `ftpd:\n  bindings: [{ address: 127.0.0.1, port: ${ours.ftp} }]\n  passive_port_range: { start: ${pasv.start}, end: ${pasv.end} }\nwebdavd:\n  bindings: [{ address: 127.0.0.1, port: ${ours.dav} }]\nlog: { level: warn }\nusers:\n  - { username: bench, password: ${PASSWORD}, home_dir: ${ours.home} }\n`,
);
const server = spawn(binary, ['serve', '--config', join(work, 'sftpgo.yaml'), '--data-dir', join(work, 'data')], { stdio: ['ignore', 'ignore', 'inherit'] });
await waitPort(ours.dav, server, 'sftpgo');

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
const vsftpd = spawn('/usr/sbin/vsftpd', [join(work, 'vsftpd.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
await waitPort(vs.port, vsftpd, 'vsftpd');

// ---- rclone serve webdav ----
const rc = { port: await freePort(), root: join(work, 'rclone') };
mkdirSync(rc.root);
const rclone = spawn('rclone', ['serve', 'webdav', rc.root, '--addr', `127.0.0.1:${rc.port}`, '--user', 'bench', '--pass', PASSWORD, '--config', '/dev/null', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
await waitPort(rc.port, rclone, 'rclone');

interface FtpTarget {
  name: string;
  port: number;
  login: string;
  dir: string;
}
const ftpTargets: FtpTarget[] = [
  { name: 'this server', port: ours.ftp, login: `-u bench,${PASSWORD}`, dir: '.' },
  { name: 'vsftpd', port: vs.port, login: '-u anonymous,x', dir: 'up' },
];
const lftp = (t: FtpTarget, cmds: string) => exec('lftp', ['-c', `set net:max-retries 1; set xfer:clobber on; open ${t.login} -p ${t.port} 127.0.0.1; cd ${t.dir}; ${cmds}`]);
const davTargets = [
  { name: 'this server', url: `http://127.0.0.1:${ours.dav}` },
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
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of ftpTargets) {
      add(`ftp|${t.name}|up`, MB / (await secs(() => lftp(t, `put ${big} -o big-${round}.bin`))));
      add(`ftp|${t.name}|down`, MB / (await secs(() => lftp(t, `get big-${round}.bin -o ${join(work, 'ftp-got.bin')}`))));
      add(`ftp|${t.name}|small`, await secs(() => lftp(t, `mkdir small-${round}; mput -O small-${round} ${smallDir}/*`)));
    }
    for (const t of davTargets) {
      add(`dav|${t.name}|up`, MB / (await secs(() => curl(['-T', big, `${t.url}/big-${round}.bin`]))));
      add(`dav|${t.name}|down`, MB / (await secs(() => curl(['-o', join(work, 'dav-got.bin'), `${t.url}/big-${round}.bin`]))));
      add(`dav|${t.name}|small`, await secs(() => rcloneCopy(t.url, `small-${round}`)));
    }
    process.stderr.write(`round ${round + 1} done\n`);
  }
} finally {
  for (const p of [server, vsftpd, rclone]) p.kill('SIGTERM');
}
const med = (k: string) => {
  const xs = [...(results.get(k) ?? [NaN])].sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
};
const out = [`${SIZE_MB} MiB file up/down (MB/s) and ${SMALL} × 4 KiB files (s), median of ${ROUNDS} interleaved rounds; ratio = this server / peer.`, ''];
for (const [proto, peer, client] of [['ftp', 'vsftpd', 'lftp (mput for small files)'], ['dav', 'rclone serve webdav', 'curl; rclone copy --transfers 4 for small files']] as const) {
  out.push(`### ${proto === 'ftp' ? 'FTP' : 'WebDAV'} (client: ${client})`, '', `| server | up | down | ${SMALL} small files |`, '|---|---|---|---|');
  for (const name of ['this server', peer]) {
    const r = (m: string, lowerBetter = false) => {
      const v = med(`${proto}|${name}|${m}`);
      const p = med(`${proto}|${peer}|${m}`);
      return name === peer ? v.toFixed(m === 'small' ? 2 : 0) : `${v.toFixed(m === 'small' ? 2 : 0)} (×${(lowerBetter ? p / v : v / p).toFixed(2)})`;
    };
    out.push(`| ${name} | ${r('up')} | ${r('down')} | ${r('small', true)} |`);
  }
  out.push('');
}
console.log(out.join('\n'));
rmSync(work, { recursive: true, force: true });
removeTempDirs();
