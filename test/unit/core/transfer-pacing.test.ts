// Which ended transfers the collector pacer counts: the registry keeps the bytes of transfers whose
// front-end freed every buffer itself (Transfer.paced false), and serve subtracts them from the
// ended bytes it paces collections by.
import { afterEach, expect, test } from 'bun:test';
import { openCore, type CoreHarness } from '../../support/core.ts';

const opened: CoreHarness[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

test('an unpaced transfer adds its bytes to the registry when it ends; a paced one does not', async () => {
  const core = await openCore({ yaml: 'users:\n  - username: up\n    permissions: { "/": ["*"] }\n' });
  opened.push(core);
  const u = await core.login({ username: 'up' });
  const registry = core.ctx.connections;
  const paced = await u.fs.openUpload(u.conn, '/a.bin');
  await paced.write(Buffer.alloc(300));
  await paced.close();
  expect(registry.unpacedBytes).toBe(0);

  const own = await u.fs.openUpload(u.conn, '/b.bin');
  own.paced = false;
  await own.write(Buffer.alloc(700));
  await own.close();
  expect(registry.unpacedBytes).toBe(700);

  // An aborted one counts what it moved too.
  const dl = await u.fs.openDownload(u.conn, '/b.bin');
  dl.paced = false;
  await dl.read(Buffer.alloc(100), 0);
  await dl.abort();
  expect(registry.unpacedBytes).toBe(800);
});
