// S3 (s3rver) behind a hostile peer (test/support/hostile-suite.ts): with upload_part_max_time and
// download_part_max_time at 8 s, each faulted SFTP upload and download fails within 40 s (a hung
// HEAD takes S3's 30 s request deadline), leaves nothing, and the next transfers work.
import { HOSTILE_FAULTS, hostileSuite } from '../../support/hostile-suite.ts';
import { s3ConfigFor, startS3rver } from '../../support/s3rver.ts';

const PART_S = 8;

hostileSuite({
  name: 'S3',
  boundMs: 40_000,
  faults: HOSTILE_FAULTS,
  uploadBytes: 11 * 1024 * 1024,
  async start() {
    const s3 = await startS3rver('hostile');
    const url = new URL(s3.endpoint);
    return {
      target: { host: url.hostname, port: Number(url.port) },
      filesystem: (proxy) => ({
        provider: 's3',
        s3config: s3ConfigFor(s3, { endpoint: `http://${proxy}`, upload_part_size: 5, upload_part_max_time: PART_S, download_part_max_time: PART_S }),
      }),
      stop: () => s3.stop(),
    };
  },
});
