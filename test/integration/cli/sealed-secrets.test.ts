// Literal secrets at rest: a passphrase and a TOTP secret written in clear in the YAML are stored
// sealed with <data_dir>/secrets.key. Neither the store file nor a dump holds them in clear, the
// key file is private, a restart sees no change, logins still open them, and a store moved without
// its key gets the YAML's literals sealed again under a new key.
import { afterAll, describe, expect, test } from 'bun:test';
import { cpSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const PASSWORD = 'seal-Secret-1';
const PASSPHRASE = 'Literal-Passphrase-0451';
const TOTP = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

function config(dir: string, port: number): string {
  return [
    `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]`,
    'users:',
    '  - username: vault',
    `    password: "${PASSWORD}"`,
    `    home_dir: ${join(dir, 'vault')}`,
    `    filesystem: { provider: crypt, cryptconfig: { passphrase: "${PASSPHRASE}" } }`,
    `    filters: { totp_config: { enabled: false, secret: "${TOTP}", protocols: [FTP] } }`,
  ].join('\n') + '\n';
}

function sftp(port: number, lines: string[], dir: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const batch = join(dir, `batch-${Math.random().toString(36).slice(2)}`);
  writeFileSync(batch, lines.join('\n') + '\n');
  return run('sshpass', ['-p', PASSWORD, 'sftp', '-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1', '-P', String(port), '-b', batch, 'vault@127.0.0.1']);
}

/** Every byte of every file in the data dir, as latin1 text to search. */
function dataDirBytes(dataDir: string): string {
  return (readdirSync(dataDir, { recursive: true }) as string[])
    .map((f) => join(dataDir, f))
    .filter((p) => statSync(p).isFile())
    .map((p) => readFileSync(p).toString('latin1'))
    .join('\n');
}

describe('literal secrets are sealed at rest', () => {
  test('store and dump hold no clear secret; logins open them; plan sees no change; a lost key is recovered from the YAML', async () => {
    const dir = tempDir('sealed-');
    const port = await freePort();
    const yamlText = config(dir, port);
    const s = await startServer({ yaml: yamlText, cwd: dir });
    const local = join(dir, 'hello.txt');
    writeFileSync(local, 'sealed hello\n');
    expect((await sftp(port, [`put ${local} hello.txt`, `get hello.txt ${join(dir, 'back.txt')}`], dir)).status).toBe(0);
    expect(readFileSync(join(dir, 'back.txt'), 'utf8')).toBe('sealed hello\n');
    await s.stop();
    // The file on disk is encrypted with the passphrase the store holds sealed.
    expect(readFileSync(join(dir, 'vault', 'hello.txt')).includes(Buffer.from('sealed hello'))).toBe(false);

    const data = s.dataDir;
    expect(statSync(join(data, 'secrets.key')).mode & 0o777).toBe(0o600);
    const bytes = dataDirBytes(data).replace(readFileSync(join(data, 'secrets.key'), 'latin1'), '');
    expect(bytes.includes(PASSPHRASE)).toBe(false);
    expect(bytes.includes(TOTP)).toBe(false);
    const d = runCli(['dumpdata', '--data-dir', data]);
    expect(d.code).toBe(0);
    expect(d.stdout.includes(PASSPHRASE) || d.stdout.includes(TOTP)).toBe(false);
    const user = JSON.parse(d.stdout).users[0];
    expect(user.filesystem.cryptconfig.passphrase.sealed).toMatch(/^v1:/);
    expect(user.filters.totp_config.secret.sealed).toMatch(/^v1:/);

    const plan = runCli(['plan', '--config', join(dir, 'sftpgo.yaml'), '--data-dir', data]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('no changes');

    // The same store without its secrets.key: a new key is made, reconcile seals the YAML's
    // literals again under it (one update), and the user reads the old files.
    const moved = join(dir, 'moved');
    cpSync(data, moved, { recursive: true });
    rmSync(join(moved, 'secrets.key'));
    const other = await startServer({ yaml: yamlText, cwd: dir, dataDir: moved });
    const change = other.logs.find((l) => l.event === 'reconcile_change' && l.name === 'vault');
    expect(change).toMatchObject({ action: 'update', kind: 'user' });
    expect(change!.fields).toEqual(expect.arrayContaining(['filesystem', 'filters']));
    expect((await sftp(port, [`get hello.txt ${join(dir, 'again.txt')}`], dir)).status).toBe(0);
    expect(readFileSync(join(dir, 'again.txt'), 'utf8')).toBe('sealed hello\n');
    await other.stop();
  }, 120_000);
});
