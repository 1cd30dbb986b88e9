// The long hostile peer runs (npm run test:hard): Azure (azurite) behind a peer that goes silent or
// crawls (8 KiB/s), which only the block deadline ends (a minute per MB of part, as SFTPGo: 1 MB
// parts here), and the SFTP backend (sshd) behind a silent peer, which the SSH keepalives end
// (15 s, 4 missed). The quick faults, and S3 and GCS with every fault, run in npm test
// (test/integration/crash/hostile-*.test.ts).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startAzurite } from '../support/azurite.ts';
import { hostileSuite } from '../support/hostile-suite.ts';
import { startSshd } from '../support/sshd.ts';

hostileSuite({
  name: 'Azure (slow faults)',
  boundMs: 100_000,
  faults: [
    ['hang', { kind: 'hang' }],
    ['throttle to 8 KiB/s', { kind: 'throttle', bytesPerSecond: 8 * 1024 }],
  ],
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

hostileSuite({
  name: 'SFTP backend (silent peer)',
  boundMs: 100_000,
  faults: [['hang', { kind: 'hang' }]],
  uploadBytes: 3 * 1024 * 1024,
  async start() {
    const sshd = await startSshd();
    const root = join(sshd.dir, 'remote-home');
    mkdirSync(root, { recursive: true });
    return {
      target: { host: sshd.host, port: sshd.port },
      filesystem: (proxy) => ({
        provider: 'sftp',
        sftpconfig: { endpoint: proxy, username: sshd.user, private_key: sshd.clientKey, fingerprints: [sshd.hostFingerprint], prefix: root },
      }),
      stop: () => sshd.stop(),
    };
  },
});
