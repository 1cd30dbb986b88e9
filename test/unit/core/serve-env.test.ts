// The variables serve re-executes itself with under Bun (src/runtime.ts): set where the user left
// them unset, never over the user's own, and the JIT one only where chacha20-poly1305 runs on
// libsodium. The second test runs the real re-exec from source and reads the new process's
// environment back from /proc.
import { expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveEnv } from '../../../src/runtime.ts';
import { BUN, ROOT } from '../../support/server.ts';

test('sets the allocator and JIT variables the environment leaves unset, and keeps the user\'s', () => {
  expect(serveEnv({}, { jsCipher: false })).toEqual({ MIMALLOC_PURGE_DELAY: '-1', BUN_JSC_useFTLJIT: '0' });
  expect(serveEnv({ BUN_JSC_useFTLJIT: '1' }, { jsCipher: false })).toEqual({ MIMALLOC_PURGE_DELAY: '-1' });
  expect(serveEnv({ MIMALLOC_PURGE_DELAY: '0' }, { jsCipher: false })).toEqual({ BUN_JSC_useFTLJIT: '0' });
  // The pure-JS chacha20-poly1305 keeps the top JIT tier: it runs ~30% slower without it.
  expect(serveEnv({}, { jsCipher: true })).toEqual({ MIMALLOC_PURGE_DELAY: '-1' });
});

test('serve runs with both variables after its re-exec', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-env-'));
  // A config that fails validation after the re-exec: the process lives long enough to be read.
  const proc = spawn(BUN, [join(ROOT, 'src/main.ts'), 'serve', '--config', join(dir, 'missing.yaml'), '--data-dir', join(dir, 'data')], {
    env: { PATH: process.env.PATH ?? '', HOME: dir, TMPDIR: dir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    let environ = '';
    for (let i = 0; i < 200 && proc.exitCode === null; i++) {
      try {
        environ = readFileSync(`/proc/${proc.pid}/environ`, 'utf8');
      } catch {
        break;
      }
      if (environ.includes('MIMALLOC_PURGE_DELAY=')) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const vars = environ.split('\0');
    expect(vars).toContain('MIMALLOC_PURGE_DELAY=-1');
    expect(vars).toContain('BUN_JSC_useFTLJIT=0');
  } finally {
    proc.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
