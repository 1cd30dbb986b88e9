// One streaming S3 upload: writes go through a small PassThrough into lib-storage's Upload, which
// cuts parts of `partSize` and keeps `queueSize` of them in flight (memory ≈ part size ×
// (concurrency + 1), never the file size; no temp file). A body that ends before one part is full
// becomes a single PutObject.
//
// Aborting destroys the body instead of calling Upload.abort(): lib-storage's abort() rejects
// done() at once while its workers are still running, so the AbortMultipartUpload would be sent
// (or not) after we return. A destroyed body makes every worker fail, and done() then rejects only
// after lib-storage has sent AbortMultipartUpload: when abort() resolves, nothing is left behind.
// The same path runs when CompleteMultipartUpload fails, and when the caller's signal aborts.
import { PassThrough } from 'node:stream';
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AppError } from '../../errors.ts';
import { abortedError, onAbort } from '../abort.ts';
import type { ObjectUpload } from '../object/client.ts';
import { s3Error } from './errors.ts';

/** Bytes buffered between a write() and lib-storage's part assembly before write() waits. */
const BODY_HIGH_WATER = 256 * 1024;

export class S3Upload implements ObjectUpload {
  readonly #body = new PassThrough({ highWaterMark: BODY_HIGH_WATER });
  readonly #done: Promise<void>;
  #failure: AppError | undefined;
  #state: 'open' | 'completing' | 'aborted' = 'open';

  constructor(
    client: S3Client,
    params: Omit<PutObjectCommandInput, 'Body'>,
    partSize: number,
    queueSize: number,
    signal?: AbortSignal,
  ) {
    const upload = new Upload({ client, params: { ...params, Body: this.#body }, partSize, queueSize, leavePartsOnError: false });
    this.#done = upload.done().then(
      () => undefined,
      (err: unknown) => {
        this.#failure = s3Error(err, 'upload', params.Key ?? '');
        throw this.#failure;
      },
    );
    // Observed through write()/complete()/abort(); never an unhandled rejection meanwhile.
    this.#done.catch(() => undefined);
    const key = params.Key ?? '';
    const stop = onAbort(signal, () => {
      // A commit under way is not interrupted: half a completion is worse than finishing it.
      if (this.#state !== 'open') return;
      this.#state = 'aborted';
      this.#failure ??= abortedError('s3 upload', key);
      this.#body.destroy(this.#failure);
    });
    this.#done.then(stop, stop);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.#state !== 'open') throw new AppError('invalid', 'write after complete or abort');
    // lib-storage holds what it reads until a whole part is assembled (then concatenates the
    // part), long after write() resolves, while the caller may reuse its buffer once it has: hand
    // over a copy. (Coalescing into larger blocks here was measured: lib-storage then concatenates
    // a block past each part boundary too, and the upload costs more CPU, not less.)
    if (this.#body.write(new Uint8Array(chunk))) return;
    // Backpressure: wait until lib-storage has taken the buffered bytes, or the upload has failed.
    await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        this.#done.then(resolve, reject);
      };
      const cleanup = (): void => {
        this.#body.off('drain', onDrain);
        this.#body.off('close', onClose);
      };
      this.#body.on('drain', onDrain);
      this.#body.on('close', onClose);
      this.#done.then(undefined, (err: unknown) => {
        cleanup();
        reject(err);
      });
    });
  }

  async complete(): Promise<void> {
    if (this.#state === 'aborted') throw new AppError('invalid', 'complete after abort');
    if (this.#state === 'open') {
      this.#state = 'completing';
      this.#body.end();
    }
    await this.#done;
  }

  async abort(): Promise<void> {
    if (this.#state === 'completing') {
      await this.#done.catch(() => undefined);
      return;
    }
    // Also after the signal aborted: wait until lib-storage has cleaned up.
    if (this.#state === 'aborted') return void (await this.#done.catch(() => undefined));
    this.#state = 'aborted';
    this.#body.destroy(new AppError('io', 'upload aborted'));
    await this.#done.catch(() => undefined);
  }
}
