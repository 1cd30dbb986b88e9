// The README's "A first config" works as written: its YAML, with the password its commands export,
// validates, serves, lets alice log in with OpenSSH sftp, and her files land in ./data/users/alice.
import { afterAll, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { ROOT, startServer } from '../../support/server.ts';
import { sftpBatchSync } from '../../support/sftp-batch.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

test('the first config of the README serves alice', async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A first config'), readme.indexOf('## The manual'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  const commands = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  expect(yaml).toBeDefined();
  expect(commands).toBeDefined();
  const password = /^export ALICE_PASSWORD=(\S+)$/m.exec(commands!)?.[1];
  expect(password).toBeDefined();
  expect(commands).toContain('sftpgo validate -c sftpgo.yaml');
  expect(commands).toContain('sftpgo serve -c sftpgo.yaml');
  expect(commands).toContain('sftp -P 2022 alice@127.0.0.1');

  const dir = tempDir();
  const port = await freePort();
  const text = yaml!.replace('port: 2022', `port: ${port}`);
  expect(text).not.toBe(yaml);
  writeFileSync(join(dir, 'sftpgo.yaml'), text);
  const env = { ALICE_PASSWORD: password! };
  const validate = runCli(['validate', '-c', 'sftpgo.yaml'], { cwd: dir, env });
  expect(validate.code).toBe(0);

  const server = await startServer({ cwd: dir, yaml: text, env });
  try {
    writeFileSync(join(dir, 'hello.txt'), 'hello alice\n');
    const r = sftpBatchSync({ port, user: 'alice', password: password!, dir, lines: [`put ${join(dir, 'hello.txt')} hello.txt`, 'ls'] });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('hello.txt');
  } finally {
    await server.stop();
  }
  expect(readFileSync(join(dir, 'data/users/alice/hello.txt'), 'utf8')).toBe('hello alice\n');
}, 60_000);
