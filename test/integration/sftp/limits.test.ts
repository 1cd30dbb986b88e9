// Connection limits of the SSH server: max_auth_tries ends a connection after that many failures,
// and login_grace_time drops a client that does not authenticate in time.
import { afterAll, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { removeTempDirs } from '../../support/tmp.ts';
import { Client } from '../../../src/lib/ssh2.ts';
import { startSftpd } from './harness.ts';

afterAll(removeTempDirs);

test('max_auth_tries: the server disconnects after the configured number of failed attempts', async () => {
  const s = await startSftpd([{ username: 'tina' }], '  max_auth_tries: 2\n  login_grace_time: 1');
  try {
    // A client that keeps trying wrong passwords on one connection (sshpass answers one prompt only).
    let attempts = 0;
    const ended = await new Promise<string>((resolve) => {
      const c = new Client();
      c.once('ready', () => (c.end(), resolve('ready')));
      c.once('error', (e: Error) => resolve(`error: ${e.message}`));
      c.once('close', () => resolve('closed'));
      c.connect({
        host: '127.0.0.1',
        port: s.port,
        username: 'tina',
        readyTimeout: 20_000,
        authHandler: (_methods: unknown, _partial: unknown, next: (m: unknown) => void) => {
          attempts++;
          if (attempts > 5) return next(false);
          next({ type: 'password', username: 'tina', password: `wrong-${attempts}` });
        },
      } as never);
    });
    expect(ended).not.toBe("ready");
    expect(attempts).toBeLessThanOrEqual(3);
    const line = await s.server.waitForLog((l) => l.event === 'login_failed' && l.reason === 'max_auth_tries');
    expect(line).toMatchObject({ ip: '127.0.0.1', protocol: 'SSH', username: 'tina' });
    const failures = s.server.logs.filter((l) => l.event === 'login_failed' && l.reason === 'invalid_credentials');
    expect(failures.length).toBe(2);

    // login_grace_time: a client that connects and says nothing is dropped after ~1 s.
    const started = Date.now();
    const closed = await new Promise<number>((resolve) => {
      const sock = connect(s.port, '127.0.0.1');
      sock.on('data', () => undefined);
      sock.on('error', () => undefined);
      sock.on('close', () => resolve(Date.now() - started));
    });
    expect(closed).toBeGreaterThanOrEqual(900);
    expect(closed).toBeLessThan(15_000);
    expect(await s.server.waitForLog((l) => l.event === 'login_failed' && l.reason === 'login_grace_time_exceeded')).toMatchObject({ ip: '127.0.0.1' });
  } finally {
    await s.server.stop();
  }
});
