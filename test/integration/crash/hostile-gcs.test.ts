// GCS (the test server) behind a hostile peer (test/support/hostile-suite.ts): with
// upload_part_max_time at 5 s, each faulted SFTP upload fails within 15 s, a silent or crawling
// peer's at the chunk deadline; a download fails within 40 s (the 30 s request deadline when the
// peer goes silent); nothing half-written is visible and the next transfers work. A crawling
// download is not cut: GCS has no download deadline, as in SFTPGo.
import { HOSTILE_FAULTS, hostileSuite } from '../../support/hostile-suite.ts';
import { startGcsServer } from '../../support/gcs-server.ts';

const CHUNK_S = 5;

hostileSuite({
  name: 'GCS',
  boundMs: 40_000,
  uploadBoundMs: 15_000,
  faults: HOSTILE_FAULTS,
  downloadFaults: HOSTILE_FAULTS.filter(([, f]) => f.kind !== 'throttle'),
  uploadBytes: 3 * 1024 * 1024,
  async start() {
    const srv = await startGcsServer();
    srv.createBucket('hostile');
    const url = new URL(srv.endpoint);
    return {
      target: { host: url.hostname, port: Number(url.port) },
      filesystem: (proxy) => ({ provider: 'gcs', gcsconfig: { bucket: 'hostile', endpoint: `http://${proxy}`, upload_part_size: 1, upload_part_max_time: CHUNK_S } }),
      stop: () => srv.close(),
    };
  },
});
