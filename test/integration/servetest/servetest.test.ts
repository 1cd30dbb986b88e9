// The backend suite through each front-end, as rclone's servetest: a real server serves its users'
// homes over SFTP, FTP and WebDAV, and the suite runs against an Fs that speaks each protocol to
// it: the project's own SFTP backend, and the FTP and WebDAV adapters in test/support/. It runs
// twice, with the homes on local disk and on S3 (s3rver), one server each.
import { afterAll, beforeAll, describe } from 'bun:test';
import type { Fs } from '../../../src/vfs/fs.ts';
import { openSftpFs } from '../../../src/vfs/sftp/sftp-fs.ts';
import { FtpFs } from '../../support/ftp-fs.ts';
import { startS3rver } from '../../support/s3rver.ts';
import { startProtocolServer, type ProtocolServer } from '../../support/serve-protocols.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { WebDavFs } from '../../support/webdav-fs.ts';
import { runFsSuite, type SuiteOptions, type SuiteTarget } from '../vfs/suite.ts';

const SIZES: SuiteOptions = { listingSize: 300, bigFileBytes: 32 * 2 ** 20 };
const USERS = { sftp: 'via-sftp', ftp: 'via-ftp', dav: 'via-dav' } as const;

interface Home {
  name: string;
  /** Starts the server, and what its homes live on. */
  start(): Promise<{ server: ProtocolServer; stop(): Promise<void> }>;
}

const HOMES: readonly Home[] = [
  {
    name: 'local',
    async start() {
      const server = await startProtocolServer({ usernames: Object.values(USERS) });
      return { server, stop: () => server.stop() };
    },
  },
  {
    name: 's3',
    async start() {
      const s3 = await startS3rver('servetest');
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
    },
  },
];

afterAll(() => removeTempDirs());

function target(fs: Fs): SuiteTarget {
  return { fs, cleanup: async () => fs.close?.() };
}

for (const home of HOMES) {
  describe(`${home.name} home`, () => {
    let running: Awaited<ReturnType<Home['start']>> | undefined;
    const server = (): ProtocolServer => {
      if (!running) throw new Error(`the ${home.name} server did not start`);
      return running.server;
    };
    beforeAll(async () => {
      running = await home.start();
    }, 120_000);
    afterAll(async () => {
      await running?.stop();
    });

    runFsSuite(
      'sftp front-end (SFTP backend)',
      async () => {
        const s = server();
        const config = { endpoint: `127.0.0.1:${s.ports.sftp}`, username: USERS.sftp, password: s.password, fingerprints: s.hostFingerprints };
        return target(await openSftpFs(config, { connect: true }));
      },
      SIZES,
    );

    runFsSuite(
      'ftp front-end (FTP adapter)',
      async () => target(new FtpFs({ port: server().ports.ftp, username: USERS.ftp, password: server().password })),
      SIZES,
    );

    runFsSuite(
      'webdav front-end (WebDAV adapter)',
      async () => target(new WebDavFs({ url: `http://127.0.0.1:${server().ports.dav}`, username: USERS.dav, password: server().password })),
      SIZES,
    );
  });
}
