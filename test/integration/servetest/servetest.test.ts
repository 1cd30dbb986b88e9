// The backend suite through each front-end, as rclone's servetest: a real server serves its users'
// homes over SFTP, FTP and WebDAV, and the suite runs against an Fs that speaks each protocol to
// it: the project's own SFTP backend, and the FTP and WebDAV adapters in test/support/. It runs
// twice, with the homes on local disk and on S3 (s3rver), one server each.
import { afterAll } from 'bun:test';
import type { Fs } from '../../../src/vfs/fs.ts';
import { openSftpFs } from '../../../src/vfs/sftp/sftp-fs.ts';
import { FtpFs } from '../../support/ftp-fs.ts';
import { startS3rver, type S3rver } from '../../support/s3rver.ts';
import { startProtocolServer, type ProtocolServer } from '../../support/serve-protocols.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { WebDavFs } from '../../support/webdav-fs.ts';
import { runFsSuite, type SuiteOptions, type SuiteTarget } from '../vfs/suite.ts';

const SIZES: SuiteOptions = { listingSize: 300, bigFileBytes: 32 * 2 ** 20 };
const USERS = { sftp: 'via-sftp', ftp: 'via-ftp', dav: 'via-dav' } as const;

interface Home {
  name: string;
  /** Starts the server (and what its homes live on) the first time a suite asks. */
  server(): Promise<ProtocolServer>;
  stop(): Promise<void>;
}

function home(name: string, start: () => Promise<{ server: ProtocolServer; stop: () => Promise<void> }>): Home {
  let started: ReturnType<typeof start> | undefined;
  return {
    name,
    server: async () => (await (started ??= start())).server,
    stop: async () => {
      if (started) await (await started).stop();
    },
  };
}

const homes: Home[] = [
  home('local', async () => {
    const server = await startProtocolServer({ usernames: Object.values(USERS) });
    return { server, stop: () => server.stop() };
  }),
  home('s3', async () => {
    const s3: S3rver = await startS3rver('servetest');
    const server = await startProtocolServer({
      usernames: Object.values(USERS),
      userExtra: (username) =>
        [
          '    filesystem:',
          '      provider: s3',
          // As in the S3 backend's own suite run: a directory rename is a bounded copy and delete.
          '      rename_dirs: true',
          `      s3config: { bucket: ${s3.bucket}, region: us-east-1, endpoint: "${s3.endpoint}", force_path_style: true, access_key: ${s3.accessKey}, access_secret: ${s3.secretKey}, key_prefix: "${username}/", request_checksum_calculation: when_required, response_checksum_validation: when_required }`,
          '',
        ].join('\n'),
    }).catch(async (err: unknown) => {
      await s3.stop();
      throw err;
    });
    return { server, stop: async () => (await server.stop(), await s3.stop()) };
  }),
];

afterAll(async () => {
  for (const h of homes) await h.stop();
  removeTempDirs();
});

function target(fs: Fs): SuiteTarget {
  return { fs, cleanup: async () => fs.close?.() };
}

for (const h of homes) {
  runFsSuite(
    `${h.name} home, sftp front-end (SFTP backend)`,
    async () => {
      const s = await h.server();
      const config = { endpoint: `127.0.0.1:${s.ports.sftp}`, username: USERS.sftp, password: s.password, fingerprints: s.hostFingerprints };
      return target(await openSftpFs(config, { connect: true }));
    },
    SIZES,
  );

  runFsSuite(
    `${h.name} home, ftp front-end (FTP adapter)`,
    async () => {
      const s = await h.server();
      return target(new FtpFs({ port: s.ports.ftp, username: USERS.ftp, password: s.password }));
    },
    SIZES,
  );

  runFsSuite(
    `${h.name} home, webdav front-end (WebDAV adapter)`,
    async () => {
      const s = await h.server();
      return target(new WebDavFs({ url: `http://127.0.0.1:${s.ports.dav}`, username: USERS.dav, password: s.password }));
    },
    SIZES,
  );
}
