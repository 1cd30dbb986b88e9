// Starts s3rver (the npm devDependency) for tests: a child Node process on a loopback port the OS
// picks, data in a temp dir, one bucket created at start, stopped by PID. s3rver 3.7 lacks two
// calls the S3 backend's tests need, so the child adds them in front of s3rver's router:
// AbortMultipartUpload (DELETE ?uploadId) and ListMultipartUploads (GET bucket?uploads). It also
// fails CompleteMultipartUpload with a 400 for any key containing FAIL_COMPLETE_MARKER, so a failed
// commit can be tested, and decodes CopyObject's source as S3 does (keys with `#`, `?`, `+`). Node runs it with --openssl-legacy-provider: s3rver's paged listings use
// DES continuation tokens and answer 500 without it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { tempDir } from './tmp.ts';
import type { S3Config } from '../../src/config/schema-types.ts';
import { S3Client } from '@aws-sdk/client-s3';

export interface S3rver {
  /** "http://127.0.0.1:PORT" */
  readonly endpoint: string;
  readonly bucket: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** s3rver's data directory (multipart parts live under `<bucket>/._S3rver_uploads/`). */
  readonly dir: string;
  /** The s3rver process (for CPU accounting in benchmarks). */
  readonly pid: number;
  /** What the child wrote to stderr (last 64 KiB), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Keys containing this make CompleteMultipartUpload fail with a non-retryable 400 (InvalidPart). */
export const FAIL_COMPLETE_MARKER = '__fail-complete__';

/** An SDK client for this s3rver, to look at or seed the bucket behind the server's back. */
export function s3ClientFor(srv: Pick<S3rver, 'endpoint' | 'accessKey' | 'secretKey'>): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: srv.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: srv.accessKey, secretAccessKey: srv.secretKey },
    // The SDK's default checksums do not suit s3rver (see s3ConfigFor).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** An `s3config` block for this s3rver's bucket, with `extra` on top. */
export function s3ConfigFor(srv: S3rver, extra: Partial<S3Config> = {}): S3Config {
  return {
    bucket: srv.bucket,
    region: 'us-east-1',
    endpoint: srv.endpoint,
    force_path_style: true,
    access_key: srv.accessKey,
    access_secret: srv.secretKey,
    // The SDK's default request checksums corrupt streamed bodies on s3rver.
    request_checksum_calculation: 'when_required',
    response_checksum_validation: 'when_required',
    ...extra,
  };
}

// s3rver's default credentials; it checks signatures against them.
const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';

const CHILD = String.raw`
'use strict';
const fs = require('fs');
const path = require('path');
const S3rver = require(process.env.S3RVER_MODULE);
const [dir, bucket, marker] = process.argv.slice(1);
const server = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true, vhostBuckets: false, configureBuckets: [{ name: bucket }] });
const uploadsDir = (b) => path.join(dir, b, '._S3rver_uploads');
const esc = (s) => s.replace(/[<>&'"]/g, (c) => '&#' + c.charCodeAt(0) + ';');
const xmlError = (ctx, status, code, message) => {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>' + code + '</Code><Message>' + esc(message) + '</Message></Error>';
};
server.middleware.unshift(async (ctx, next) => {
  const parts = ctx.path.split('/').slice(1);
  const b = decodeURIComponent(parts[0] || '');
  const key = parts.slice(1).map(decodeURIComponent).join('/');
  if (ctx.method === 'GET' && b && !key && 'uploads' in ctx.query) {
    let ids = [];
    try { ids = fs.readdirSync(uploadsDir(b)); } catch {}
    const uploads = ids.map((id) => {
      let k = '';
      try { k = fs.readFileSync(path.join(uploadsDir(b), id, 'key'), 'utf8'); } catch {}
      return '<Upload><Key>' + esc(k) + '</Key><UploadId>' + esc(id) + '</UploadId></Upload>';
    });
    ctx.type = 'application/xml';
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>' + esc(b) +
      '</Bucket><IsTruncated>false</IsTruncated>' + uploads.join('') + '</ListMultipartUploadsResult>';
    return;
  }
  if (key && typeof ctx.query.uploadId === 'string') {
    const up = path.join(uploadsDir(b), path.basename(ctx.query.uploadId));
    if (ctx.method === 'DELETE') {
      if (!fs.existsSync(up)) return xmlError(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
      fs.rmSync(up, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'POST' && key.includes(marker)) {
      return xmlError(ctx, 400, 'InvalidPart', 'Injected failure: one or more of the specified parts could not be found.');
    }
  }
  // s3rver reads x-amz-copy-source with decodeURI, which leaves %23, %3F, %2B, %26, %3B encoded:
  // give it the form decodeURI turns back into the key, as S3 decodes it.
  const copySource = ctx.headers['x-amz-copy-source'];
  if (typeof copySource === 'string') ctx.headers['x-amz-copy-source'] = encodeURI(decodeURIComponent(copySource));
  return next();
});
server.run().then(
  (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\n'),
  (err) => { console.error(err); process.exit(1); },
);
`;

function waitExit(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

export async function startS3rver(bucket = 'test-bucket'): Promise<S3rver> {
  const dir = tempDir('sftpgo-s3rver-');
  const require = createRequire(import.meta.url);
  const module = require.resolve('s3rver');
  const child = spawn('node', ['--openssl-legacy-provider', '-e', CHILD, dir, bucket, FAIL_COMPLETE_MARKER], {
    env: { ...process.env, S3RVER_MODULE: module },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-65536);
  });
  // Readiness is the child's own report once s3rver listens (it also tells the port it got).
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      try {
        resolve((JSON.parse(out.slice(0, nl)) as { port: number }).port);
      } catch (err) {
        reject(err);
      }
    };
    const onExit = (code: number | null): void => reject(new Error(`s3rver exited (${code}): ${stderr}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  child.stdout!.resume();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    dir,
    pid: child.pid!,
    log: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await waitExit(child);
    },
  };
}
