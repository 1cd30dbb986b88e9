// The FreeBSD port (packaging/freebsd) checked where no FreeBSD machine is at hand: the rc.d script
// parses as sh, and the port installs the files the rc.d script and Deno read. That the permissions
// in deno-flags suffice and confine is shown by test/integration/runtimes/deno.test.ts, which runs
// the rc.d script's own command line.
import { expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../support/server.ts';

const PORT_DIR = join(ROOT, 'packaging/freebsd');
const read = (f: string) => readFileSync(join(PORT_DIR, f), 'utf8');

test('the rc.d script parses with sh -n and offers enable, config, user and a SIGHUP reload', () => {
  const r = spawnSync('sh', ['-n', join(PORT_DIR, 'files/sftpgo.in')], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const rc = read('files/sftpgo.in');
  for (const line of ['rcvar=sftpgo_enable', ': ${sftpgo_config:=', ': ${sftpgo_user:=', 'extra_commands="reload"', 'sig_reload="HUP"', 'done < "%%DATADIR%%/deno-flags"']) {
    expect(rc).toContain(line);
  }
});

test('the port installs what Deno runs and the flags file the rc.d script reads', () => {
  const makefile = read('Makefile');
  expect(makefile).toMatch(/^PORTNAME=\tsftpgo-ts$/m);
  expect(makefile).toMatch(/^RUN_DEPENDS=\tdeno:www\/deno$/m);
  expect(makefile).toMatch(/^USE_RC_SUBR=\tsftpgo$/m);
  expect(makefile).toContain('npm rebuild --build-from-source lmdb msgpackr-extract');
  expect(makefile).toContain('${INSTALL_DATA} ${.CURDIR}/deno-flags ${STAGEDIR}${DATADIR}/deno-flags');
  const appFiles = /^APPFILES=\t(.*)$/m.exec(makefile)![1]!.split(' ');
  for (const f of appFiles.filter((f) => f !== 'node_modules')) expect(existsSync(join(ROOT, f))).toBe(true);
  // the rc.d script starts <app dir>/src/main.ts
  expect(appFiles).toContain('src');
  expect(read('files/sftpgo.in')).toContain('sftpgo_install_dir="%%PREFIX%%/libexec/sftpgo-ts"');
  expect(makefile).toMatch(/^APPDIR=\t\tlibexec\/\$\{PORTNAME\}$/m);
  const plist = read('pkg-plist').split('\n');
  expect(plist).toContain('%%DATADIR%%/deno-flags');
  expect(plist).toContain('@sample %%ETCDIR%%/sftpgo.yaml.sample');
  for (const f of ['full.yaml', 'hooks.yaml', 'quickstart.yaml']) expect(plist).toContain(`%%EXAMPLESDIR%%/${f}`);
});

test('deno-flags grants no blanket permission', () => {
  const flags = read('deno-flags').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  for (const f of flags) expect(f).toMatch(/^--(no-prompt|allow-env|allow-net|allow-(read|write|ffi|sys)=\S+)$/);
});
