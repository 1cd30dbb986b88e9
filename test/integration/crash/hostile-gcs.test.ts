// GCS (the test server) behind a hostile peer (test/support/hostile-suite.ts): an HTTP 500,
// garbage or a reset fails each SFTP upload and download through the server, leaves nothing, and
// the next transfers work.
import { HOSTILE_FAULTS, hostileSuite } from '../../support/hostile-suite.ts';
import { startGcsServer } from '../../support/gcs-server.ts';

hostileSuite({
  name: 'GCS',
  boundMs: 40_000,
  faults: HOSTILE_FAULTS.filter(([, f]) => f.kind !== 'hang' && f.kind !== 'throttle'),
  uploadBytes: 3 * 1024 * 1024,
  async start() {
    const srv = await startGcsServer();
    srv.createBucket('hostile');
    const url = new URL(srv.endpoint);
    return {
      target: { host: url.hostname, port: Number(url.port) },
      filesystem: (proxy) => ({ provider: 'gcs', gcsconfig: { bucket: 'hostile', endpoint: `http://${proxy}`, upload_part_size: 1 } }),
      stop: () => srv.close(),
    };
  },
});
