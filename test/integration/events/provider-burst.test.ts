// A reconcile that adds thousands of users while a provider rule's receiver answers nothing: the
// reconcile does not wait for the rules (it returns while every request is still held), and the
// runs go through the bounded queue (the rest are dropped and counted, not piled up in memory).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { openCore, type CoreHarness } from '../../support/core.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { Receiver } from './harness.ts';

const USERS = 3000;
let core: CoreHarness;
let rx: Receiver;
let rules: string;

beforeAll(async () => {
  rx = await Receiver.start();
  rules = `event_actions:
  - name: notify
    type: 1
    options:
      http_config: { endpoint: "${rx.base}/user", timeout: 60, body: "{{.Event}} {{.ObjectName}}" }
event_rules:
  - name: on-user-add
    trigger: 2
    conditions:
      provider_events: [add]
      options:
        provider_objects: [user]
    actions: [{ name: notify }]
`;
  core = await openCore({ yaml: rules });
});

afterAll(async () => {
  rx.delayMs = 0;
  await core?.ctx.events.drain(1000);
  await core?.close();
  await rx?.stop();
  removeTempDirs();
});

describe('provider events in a burst', () => {
  test(`a reconcile adding ${USERS} users returns while the receiver holds every request, and the queue stays bounded`, async () => {
    const stop = core.ctx.events.listenForProviderEvents();
    try {
      rx.delayMs = 30_000;
      const users = Array.from({ length: USERS }, (_, i) => `  - { username: burst${i}, home_dir: /srv/burst${i}, public_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl k"] }\n`).join('');
      const t0 = performance.now();
      const result = await core.reconcile(`users:\n${users}${rules}`);
      const ms = performance.now() - t0;
      expect(result.summary).toMatchObject({ create: USERS });
      // Nothing answered yet: the reconcile did not wait for a single run.
      expect(rx.requests).toHaveLength(0);
      for (let i = 0; i < 400 && !core.lines.some((l) => l.event === 'queue_full' && l.queue === 'event_rules'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(core.lines).toContainEqual(expect.objectContaining({ event: 'queue_full', queue: 'event_rules', capacity: 1000 }));
      // Four running and a thousand waiting, at most.
      expect(core.ctx.events.pending).toBeLessThanOrEqual(1004);
      expect(ms).toBeLessThan(30_000);
    } finally {
      stop();
    }
  });
});
