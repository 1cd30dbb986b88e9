// Scheduled event rules run once per cluster: two real servers in this process share one
// PostgreSQL store, and both schedulers tick the same hours at once (the tick source the hourly
// timer calls); each hour's run reaches the HTTP receiver once, claimed in the store by one of them.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../../src/config/load.ts';
import { startServer, type Server } from '../../../src/serve/serve.ts';
import { startPostgres, type Postgres } from '../../support/postgres.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { Receiver } from '../events/harness.ts';

const HOUR = 3_600_000;
let pg: Postgres;
let rx: Receiver;
const servers: Server[] = [];

beforeAll(async () => {
  rx = await Receiver.start();
  pg = await startPostgres();
  const dir = tempDir('sched-replicas-');
  const key = randomBytes(32).toString('base64');
  const yaml = `data_provider:
  driver: postgresql
  host: ${pg.host}
  port: ${pg.port}
  name: ${pg.database}
  username: ${pg.username}
  password: "${pg.password}"
event_actions:
  - name: ping
    type: 1
    options:
      http_config: { endpoint: "${rx.base}/tick", timeout: 10, body: "{{.Event}}" }
event_rules:
  - name: hourly
    trigger: 3
    conditions:
      schedules: [{ hour: "*", day_of_week: "*", day_of_month: "*", month: "*" }]
    actions: [{ name: ping }]
`;
  for (const n of [0, 1]) {
    const dataDir = join(dir, `data${n}`);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'secrets.key'), key + '\n', { mode: 0o600 });
    const file = join(dir, `sftpgo${n}.yaml`);
    writeFileSync(file, yaml);
    const loaded = loadConfigFile(file);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    servers.push(await startServer({ loaded: loaded.value, dataDir, flags: { config: file }, logSink: { write: () => undefined } }));
  }
}, 60_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  await rx?.stop();
  await pg?.stop();
  removeTempDirs();
});

test('both replicas tick each hour at once: the rule runs once per hour between them', async () => {
  const [a, b] = servers.map((s) => s.context);
  const start = Date.UTC(2030, 0, 7, 0);
  let startedA = 0;
  let startedB = 0;
  for (let h = 0; h < 6; h++) {
    const at = new Date(start + h * HOUR);
    const [ra, rb] = await Promise.all([a!.scheduler.tick(at), b!.scheduler.tick(at)]);
    // One started it, the other found it claimed.
    expect([...ra.started, ...rb.started]).toEqual(['hourly']);
    expect([...ra.skipped, ...rb.skipped]).toEqual([{ rule: 'hourly', reason: 'claimed' }]);
    startedA += ra.started.length;
    startedB += rb.started.length;
    // A later minute of the same hour, on either replica, is the same tick.
    expect((await b!.scheduler.tick(new Date(at.getTime() + 59 * 60_000))).started).toEqual([]);
    // The hour's run ends before the next tick (a run still going would skip it as running).
    while (a!.scheduler.running.length + b!.scheduler.running.length > 0) await new Promise((r) => setTimeout(r, 10));
  }
  expect(startedA + startedB).toBe(6);
  await a!.events.drain();
  await b!.events.drain();
  const deadline = Date.now() + 10_000;
  while (rx.requests.filter((r) => r.url === '/tick').length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // Six runs reached the receiver, and no more arrive.
  await new Promise((r) => setTimeout(r, 300));
  expect(rx.requests.filter((r) => r.url === '/tick').map((r) => r.body)).toEqual(Array(6).fill('Schedule'));
  // The claim is kept once, in the shared store.
  expect(pg.sql(`SELECT value FROM sftpgo_kv WHERE collection = 'meta' AND key = 'event_schedule_last_run:hourly'`, pg.database).trim()).toBe(String(start + 5 * HOUR));
}, 60_000);
