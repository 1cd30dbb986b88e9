// Azure (azurite) behind a hostile peer (test/support/hostile-suite.ts): an HTTP 500, garbage or a
// reset fails each SFTP upload and download within 40 s, leaves nothing, and the next transfers
// work. A silent or crawling peer meets the block deadline (a minute per MB of part, as SFTPGo):
// those runs take minutes and are in test/hard/hostile.hard.ts.
import { startAzurite } from '../../support/azurite.ts';
import { HOSTILE_FAULTS, hostileSuite } from '../../support/hostile-suite.ts';

hostileSuite({
  name: 'Azure',
  boundMs: 40_000,
  faults: HOSTILE_FAULTS.filter(([, f]) => f.kind !== 'hang' && f.kind !== 'throttle'),
  uploadBytes: 3 * 1024 * 1024,
  async start() {
    const az = await startAzurite();
    await az.createContainer('hostile');
    const url = new URL(az.endpoint);
    return {
      target: { host: url.hostname, port: Number(url.port) },
      filesystem: (proxy) => ({
        provider: 'azblob',
        azblobconfig: { container: 'hostile', account_name: az.account, account_key: az.key, endpoint: `http://${proxy}/${az.account}`, upload_part_size: 1, download_part_size: 1 },
      }),
      stop: () => az.stop(),
    };
  },
});
