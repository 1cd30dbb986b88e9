// data_provider.data_dir places the store when no --data-dir (or SFTPGO_DATA_DIR) says otherwise;
// a relative one is resolved against the working directory, and the flag wins over it.
import { afterAll, expect, test } from 'bun:test';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

// The environment's SFTPGO_DATA_DIR would win over the config: these runs must not inherit one.
delete process.env.SFTPGO_DATA_DIR;


test('data_dir: the store is created there, relative to the working directory', () => {
  const dir = tempDir('data-dir-');
  writeFileSync(join(dir, 'sftpgo.yaml'), 'data_provider:\n  data_dir: state/store\n');
  const r = runCli(['initprovider', '--config', 'sftpgo.yaml'], { cwd: dir });
  expect(r.code).toBe(0);
  expect(readdirSync(join(dir, 'state/store')).length).toBeGreaterThan(0);
  expect(existsSync(join(dir, 'data'))).toBe(false);
});

test('--data-dir wins over data_dir', () => {
  const dir = tempDir('data-dir-');
  writeFileSync(join(dir, 'sftpgo.yaml'), 'data_provider:\n  data_dir: from-config\n');
  const r = runCli(['initprovider', '--config', 'sftpgo.yaml', '--data-dir', 'from-flag'], { cwd: dir });
  expect(r.code).toBe(0);
  expect(existsSync(join(dir, 'from-flag'))).toBe(true);
  expect(existsSync(join(dir, 'from-config'))).toBe(false);
});
