// The SFTP backend (OpenSSH sshd) behind a hostile peer (test/support/hostile-suite.ts): garbage
// or a reset fails each SFTP upload and download through the server at once, leaves nothing, and
// the next transfers work. A silent peer is found by the SSH keepalives (15 s, 4 missed): that run
// takes over a minute and is in test/hard/hostile.hard.ts. A slow one is not cut, as in SFTPGo.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HOSTILE_FAULTS, hostileSuite } from '../../support/hostile-suite.ts';
import { startSshd } from '../../support/sshd.ts';

hostileSuite({
  name: 'SFTP backend',
  boundMs: 40_000,
  faults: HOSTILE_FAULTS.filter(([, f]) => f.kind === 'garbage' || f.kind === 'reset'),
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
