// The backend suite through each front-end, as rclone's servetest: one real server serves local
// homes over SFTP, FTP and WebDAV, and the suite runs against an Fs that speaks each protocol to
// it: the project's own SFTP backend, and the FTP and WebDAV adapters in test/support/.
import { afterAll } from 'bun:test';
import type { Fs } from '../../../src/vfs/fs.ts';
import { openSftpFs } from '../../../src/vfs/sftp/sftp-fs.ts';
import { FtpFs } from '../../support/ftp-fs.ts';
import { startProtocolServer, type ProtocolServer } from '../../support/serve-protocols.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { WebDavFs } from '../../support/webdav-fs.ts';
import { runFsSuite, type SuiteOptions } from '../vfs/suite.ts';

const SIZES: SuiteOptions = { listingSize: 300, bigFileBytes: 32 * 2 ** 20 };

// One server for the three suites; the first suite to start it shares it with the others.
let started: Promise<ProtocolServer> | undefined;
function server(): Promise<ProtocolServer> {
  started ??= startProtocolServer({ usernames: ['via-sftp', 'via-ftp', 'via-dav'] });
  return started;
}

afterAll(async () => {
  if (started) await (await started).stop();
  removeTempDirs();
});

async function target(fs: Fs): Promise<{ fs: Fs; cleanup: () => Promise<void> }> {
  return { fs, cleanup: async () => fs.close?.() };
}

runFsSuite(
  'sftp front-end (SFTP backend)',
  async () => {
    const s = await server();
    return target(
      await openSftpFs(
        { endpoint: `127.0.0.1:${s.ports.sftp}`, username: 'via-sftp', password: s.password, fingerprints: s.hostFingerprints },
        { connect: true },
      ),
    );
  },
  SIZES,
);

runFsSuite(
  'ftp front-end (FTP adapter)',
  async () => {
    const s = await server();
    return target(new FtpFs({ port: s.ports.ftp, username: 'via-ftp', password: s.password }));
  },
  SIZES,
);

runFsSuite(
  'webdav front-end (WebDAV adapter)',
  async () => {
    const s = await server();
    return target(new WebDavFs({ url: `http://127.0.0.1:${s.ports.dav}`, username: 'via-dav', password: s.password }));
  },
  SIZES,
);
