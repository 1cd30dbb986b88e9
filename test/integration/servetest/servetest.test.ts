// The backend suite through each front-end, as rclone's servetest: a real server serves its users'
// homes over SFTP, FTP and WebDAV, and the suite runs against an Fs that speaks each protocol to
// it: the project's own SFTP backend, and the FTP and WebDAV adapters in test/support/. It runs
// twice, with the homes on local disk and on S3 (s3rver), one server each. Beyond the suite: names
// that each protocol has to quote or escape (spaces at the ends, `%`, `#`, `?`, `;`, quotes) make
// the round trip, resume and append work or are refused cleanly, and every SFTP and FTP session
// ends with its client with no transfer left open.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { isAppError } from '../../../src/errors.ts';
import type { Fs } from '../../../src/vfs/fs.ts';
import { openSftpFs } from '../../../src/vfs/sftp/sftp-fs.ts';
import { FtpFs } from '../../support/ftp-fs.ts';
import { startS3rver } from '../../support/s3rver.ts';
import { startProtocolServer, type ProtocolServer } from '../../support/serve-protocols.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { WebDavFs } from '../../support/webdav-fs.ts';
import { names, readFile, runFsSuite, writeFile, type SuiteOptions, type SuiteTarget } from '../vfs/suite.ts';

interface FrontEnd {
  label: string;
  /** The server user whose home this front-end's runs use (one each, so runs never meet). */
  username: string;
  /** Sessions end when the client leaves (not WebDAV's, which end when idle). */
  sessionEndsWithClient: boolean;
  open(server: ProtocolServer, username: string): Promise<Fs>;
}

const FRONT_ENDS: readonly FrontEnd[] = [
  {
    label: 'sftp front-end (SFTP backend)',
    username: 'via-sftp',
    sessionEndsWithClient: true,
    open: (s, username) =>
      openSftpFs({ endpoint: `127.0.0.1:${s.ports.sftp}`, username, password: s.password, fingerprints: s.hostFingerprints }, { connect: true }),
  },
  {
    label: 'ftp front-end (FTP adapter)',
    username: 'via-ftp',
    sessionEndsWithClient: true,
    open: async (s, username) => new FtpFs({ port: s.ports.ftp, username, password: s.password }),
  },
  {
    label: 'webdav front-end (WebDAV adapter)',
    username: 'via-dav',
    sessionEndsWithClient: false,
    open: async (s, username) => new WebDavFs({ url: `http://127.0.0.1:${s.ports.dav}`, username, password: s.password }),
  },
];
const USERNAMES = FRONT_ENDS.map((f) => f.username);

const AWKWARD_NAMES = ['a%20b', 'x#y', 'q?r', 'amp&lt;', `quo'te"`, 'semi; colon', ' lead', 'trail ', 'plus+sign', 'back\\slash', '~tilde', 'dots...', '.hidden', '[br]', 'é'];

/** Each name through write, read, stat, mkdir, rename, set times, list, remove, rmdir; what failed. */
async function awkwardNameFailures(fs: Fs): Promise<string[]> {
  const failures: string[] = [];
  const base = '/awkward';
  await fs.mkdir(base);
  for (const n of AWKWARD_NAMES) {
    const file = `${base}/${n}`;
    const dir = `${base}/dir ${n}`;
    const moved = `${dir}/${n}.2`;
    try {
      await writeFile(fs, file, Buffer.from(n));
      const st = await fs.stat(file);
      if (st.name !== n || st.size !== Buffer.byteLength(n)) failures.push(`${JSON.stringify(n)}: stat gave ${JSON.stringify(st.name)}, ${st.size} bytes`);
      if ((await readFile(fs, file)).toString() !== n) failures.push(`${JSON.stringify(n)}: read back differs`);
      await fs.mkdir(dir);
      await fs.rename(file, moved);
      const mtime = Date.UTC(2021, 5, 7, 8, 9, 10);
      await fs.setTimes(moved, mtime, mtime);
      if ((await fs.stat(moved)).mtimeMs !== mtime) failures.push(`${JSON.stringify(n)}: mtime not kept`);
      const listed = await names(fs, dir);
      if (listed.join('/') !== `${n}.2`) failures.push(`${JSON.stringify(n)}: listing gave ${JSON.stringify(listed)}`);
      await fs.remove(moved);
      await fs.rmdir(dir);
    } catch (err) {
      failures.push(`${JSON.stringify(n)}: ${(err as Error).message}`);
    }
  }
  const left = await names(fs, base);
  if (left.length > 0) failures.push(`left behind: ${JSON.stringify(left)}`);
  return failures;
}

interface Home {
  name: string;
  sizes: SuiteOptions;
  /** The server's storage can continue a file (an object store cannot). */
  resumes: boolean;
  /** Starts the server, and what its homes live on. */
  start(): Promise<{ server: ProtocolServer; stop(): Promise<void> }>;
}

const HOMES: readonly Home[] = [
  {
    name: 'local',
    sizes: { listingSize: 300, bigFileBytes: 32 * 2 ** 20 },
    resumes: true,
    async start() {
      const server = await startProtocolServer({ usernames: USERNAMES });
      return { server, stop: () => server.stop() };
    },
  },
  {
    name: 's3',
    // Every upload is several s3rver requests (the SFTP backend's temporary name makes it a copy
    // and a delete more): smaller, so the file stays fast. The local runs cover the listing paths.
    sizes: { listingSize: 100, bigFileBytes: 16 * 2 ** 20 },
    resumes: false,
    async start() {
      const s3 = await startS3rver('servetest');
      const server = await startProtocolServer({
        usernames: USERNAMES,
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

/** What continuing `path` at 6 failed with (some refusals only come with a write or the commit). */
async function resumeError(fs: Fs, path: string): Promise<unknown> {
  try {
    const w = await fs.openWrite(path, { offset: 6 });
    try {
      await w.write(Buffer.from('world'));
      await w.close();
    } catch (err) {
      await w.abort();
      throw err;
    }
  } catch (err) {
    return err;
  }
  return 'accepted';
}

/**
 * Continuing and appending to a file, where the protocol can say it (SFTP offsets, FTP REST and
 * APPE): done exactly where the server's storage can, refused with `unsupported` and the file
 * left as it was where it cannot; an Fs without `resume` refuses it itself.
 */
async function checkResume(fs: Fs, storageResumes: boolean): Promise<void> {
  await writeFile(fs, '/resume.txt', Buffer.from('hello XXXXX'));
  if (!fs.capabilities.resume || !storageResumes) {
    const err = await resumeError(fs, '/resume.txt');
    expect(isAppError(err) ? err.code : String(err)).toBe('unsupported');
    expect((await readFile(fs, '/resume.txt')).toString()).toBe('hello XXXXX');
    return;
  }
  const w = await fs.openWrite('/resume.txt', { offset: 6 });
  expect(w.size).toBe(6);
  await w.write(Buffer.from('world'));
  await w.close();
  expect((await readFile(fs, '/resume.txt')).toString()).toBe('hello world');
  const a = await fs.openWrite('/resume.txt', { append: true });
  expect(a.size).toBe(11);
  await a.write(Buffer.from('!'));
  await a.close();
  expect((await readFile(fs, '/resume.txt')).toString()).toBe('hello world!');
}

/**
 * Waits until every session `username` opened has logged out, and returns the logout lines that
 * still counted open transfers or handles (aborted uploads and reads cut short included).
 */
async function leftOpen(s: ProtocolServer, username: string): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const mine = s.server.logs.filter((l) => l.username === username);
    const logins = mine.filter((l) => l.event === 'login').length;
    const logouts = mine.filter((l) => l.event === 'logout');
    if (logins > 0 && logouts.length === logins) return logouts.filter((l) => (l.open_transfers ?? 0) !== 0 || (l.open_handles ?? 0) !== 0);
    if (Date.now() > deadline) throw new Error(`${username}: ${logins} logins but ${logouts.length} logouts`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

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

    for (const fe of FRONT_ENDS) {
      runFsSuite(fe.label, async () => target(await fe.open(server(), fe.username)), home.sizes);

      test(`${fe.label}: resume and append, or a clean refusal`, async () => {
        const fs = await fe.open(server(), fe.username);
        try {
          await checkResume(fs, home.resumes);
        } finally {
          await fs.close?.();
        }
      }, 60_000);

      test(`${fe.label}: awkward names make the round trip`, async () => {
        const fs = await fe.open(server(), fe.username);
        try {
          expect(await awkwardNameFailures(fs)).toEqual([]);
        } finally {
          await fs.close?.();
        }
      }, 60_000);

      if (fe.sessionEndsWithClient)
        test(`${fe.label}: every session ended with the client, no transfer left open`, async () => {
          expect(await leftOpen(server(), fe.username)).toEqual([]);
        }, 30_000);
    }
  });
}
