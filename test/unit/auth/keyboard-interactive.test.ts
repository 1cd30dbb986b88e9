// The keyboard-interactive hook protocol with real programs (shell scripts) and a scripted client:
// questions and answers, check_password, and every way a program can fail (garbage, silence,
// exiting early, a client that goes away), each of which must refuse and leave no process behind.
import { afterAll, describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseHookLine, runKeyboardInteractiveHook, type KeyboardInteractiveRequest, type Question } from '../../../src/auth/keyboard-interactive.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { createLog } from '../../../src/log.ts';

const dir = tempDir('kbdint-');
afterAll(() => removeTempDirs());

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const TWO_QUESTIONS = script('two.sh', `
echo '{"instruction":"Two questions","questions":["Name: ","Secret: "],"echos":[true,false]}'
read A1
read A2
if [ "$A1" = "$SFTPGO_AUTHD_USERNAME" ] && [ "$A2" = "sesame" ] && [ "$SFTPGO_AUTHD_IP" = "10.1.2.3" ]; then
  echo '{"auth_result":1}'
else
  echo '{"auth_result":-1}'
fi`);

function request(answers: string[][], extra: Partial<KeyboardInteractiveRequest> = {}): { req: KeyboardInteractiveRequest; asked: { questions: Question[]; instruction: string }[] } {
  const asked: { questions: Question[]; instruction: string }[] = [];
  const req: KeyboardInteractiveRequest = {
    username: 'alice', ip: '10.1.2.3', storedPassword: '$hash', log: createLog(),
    prompt: async (questions, instruction) => {
      asked.push({ questions, instruction });
      return answers.shift();
    },
    checkPassword: async (a) => a === 'right-password',
    checkTotp: (a) => a === '123456',
    ...extra,
  };
  return { req, asked };
}

describe('protocol', () => {
  test('two questions, one echoed: right answers accept, wrong refuse', async () => {
    const ok = request([['alice', 'sesame']]);
    expect(await runKeyboardInteractiveHook(TWO_QUESTIONS, ok.req)).toEqual({ ok: true, totpChecked: false });
    expect(ok.asked).toEqual([{ instruction: 'Two questions', questions: [{ prompt: 'Name: ', echo: true }, { prompt: 'Secret: ', echo: false }] }]);
    const bad = request([['alice', 'wrong']]);
    expect(await runKeyboardInteractiveHook(TWO_QUESTIONS, bad.req)).toEqual({ ok: false, reason: 'kbdint_hook_denied' });
  });

  test('check_password 1 and 2 are checked by the server, the program reads OK', async () => {
    const hook = script('check.sh', `
echo '{"questions":["Password: "],"echos":[false],"check_password":1}'
read R1
[ "$R1" = "OK" ] || exit 1
echo '{"questions":["Code: "],"echos":[false],"check_password":2}'
read R2
[ "$R2" = "OK" ] || exit 1
echo '{"auth_result":1}'`);
    expect(await runKeyboardInteractiveHook(hook, request([['right-password'], ['123456']]).req)).toEqual({ ok: true, totpChecked: true });
    expect(await runKeyboardInteractiveHook(hook, request([['wrong'], ['123456']]).req)).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(await runKeyboardInteractiveHook(hook, request([['right-password'], ['000000']]).req)).toEqual({ ok: false, reason: 'totp_invalid' });
  });

  test('the stored password hash is in the environment', async () => {
    const hook = script('env.sh', `[ "$SFTPGO_AUTHD_PASSWORD" = '$hash' ] && echo '{"auth_result":1}' || echo '{"auth_result":-1}'`);
    expect((await runKeyboardInteractiveHook(hook, request([]).req)).ok).toBe(true);
  });

  test('parseHookLine refuses malformed messages', () => {
    expect(parseHookLine('{"questions":["a"],"echos":[true]}')).toBeDefined();
    expect(parseHookLine('{"questions":["a"],"echos":[]}')).toBeUndefined();
    expect(parseHookLine('{"questions":[],"echos":[]}')).toBeUndefined();
    expect(parseHookLine('{"questions":["a","b"],"echos":[true,true],"check_password":1}')).toBeUndefined();
    expect(parseHookLine('{"auth_result":"1"}')).toBeUndefined();
    expect(parseHookLine('[1]')).toBeUndefined();
    expect(parseHookLine('hello')).toBeUndefined();
  });
});

describe('failures refuse and kill the program', () => {
  test('garbage output', async () => {
    expect(await runKeyboardInteractiveHook(script('garbage.sh', 'echo "this is not json"; sleep 30'), request([]).req))
      .toEqual({ ok: false, reason: 'kbdint_hook_bad_output' });
  });

  test('a program that says nothing times out, and is killed', async () => {
    const marker = join(dir, 'survived');
    const hook = script('sleep.sh', `sleep 2; touch ${marker}`);
    const started = Date.now();
    expect(await runKeyboardInteractiveHook(hook, { ...request([]).req, timeoutMs: 300 })).toEqual({ ok: false, reason: 'kbdint_hook_timeout' });
    expect(Date.now() - started).toBeLessThan(1500);
    await Bun.sleep(2500);
    expect(existsSync(marker)).toBe(false);
  });

  test('a program that exits without a result', async () => {
    expect(await runKeyboardInteractiveHook(script('exit.sh', 'exit 0'), request([]).req)).toEqual({ ok: false, reason: 'kbdint_hook_no_result' });
  });

  test('a missing program', async () => {
    expect((await runKeyboardInteractiveHook(join(dir, 'nope'), request([]).req)).ok).toBe(false);
  });

  test('a client that goes away mid-exchange', async () => {
    const ctl = new AbortController();
    const { req } = request([], {
      signal: ctl.signal,
      prompt: () => {
        setTimeout(() => ctl.abort(), 50);
        return new Promise(() => undefined);
      },
    });
    expect(await runKeyboardInteractiveHook(TWO_QUESTIONS, req)).toEqual({ ok: false, reason: 'client_disconnected' });
  });
});

describe('HTTP hook', () => {
  type Body = { request_id: string; username: string; ip: string; password: string; questions: string[] | null; answers: string[] | null };
  const bodies: Body[] = [];
  let server: Server;
  let base: string;
  const read = (req: IncomingMessage): Promise<string> => new Promise((resolve) => {
    let t = '';
    req.on('data', (d) => (t += d));
    req.on('end', () => resolve(t));
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test('rounds carry the previous questions and answers; the verdict ends it', async () => {
    server = createServer(async (req, res) => {
      const body = JSON.parse(await read(req)) as Body;
      bodies.push(body);
      if (req.url === '/garbage') return res.end('<html>');
      if (req.url === '/slow') return void setTimeout(() => res.end('{"auth_result":1}'), 2000);
      if (!body.answers) return res.end(JSON.stringify({ questions: ['Password: '], echos: [false], check_password: 1 }));
      if (body.answers[0] === 'OK' && body.questions?.[0] === 'Password: ') return res.end(JSON.stringify({ instruction: 'more', questions: ['Colour: '], echos: [true] }));
      res.end(JSON.stringify({ auth_result: body.answers[0] === 'blue' ? 1 : -1 }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    expect(await runKeyboardInteractiveHook(`${base}/ok`, request([['right-password'], ['blue']]).req)).toEqual({ ok: true, totpChecked: false });
    expect(bodies.map((b) => [b.questions, b.answers])).toEqual([[null, null], [['Password: '], ['OK']], [['Colour: '], ['blue']]]);
    expect(new Set(bodies.map((b) => b.request_id)).size).toBe(1);
    expect(bodies[0]).toMatchObject({ username: 'alice', ip: '10.1.2.3', password: '$hash' });
    expect(await runKeyboardInteractiveHook(`${base}/ok`, request([['right-password'], ['red']]).req)).toEqual({ ok: false, reason: 'kbdint_hook_denied' });
    expect(await runKeyboardInteractiveHook(`${base}/ok`, request([['wrong']]).req)).toEqual({ ok: false, reason: 'invalid_credentials' });
  });

  test('garbage and a slow endpoint refuse', async () => {
    expect(await runKeyboardInteractiveHook(`${base}/garbage`, request([]).req)).toEqual({ ok: false, reason: 'kbdint_hook_bad_output' });
    expect(await runKeyboardInteractiveHook(`${base}/slow`, { ...request([]).req, timeoutMs: 300 })).toEqual({ ok: false, reason: 'kbdint_hook_timeout' });
  });
});
