// Per-user transfer limits, applied to every chunk a Transfer moves whatever the protocol:
// bandwidth (shared buckets, bandwidth.ts), data transfer allowances (upload_data_transfer,
// download_data_transfer, total_data_transfer, counted in the usage store so they survive a
// restart) and filters.max_upload_file_size. Limits are read from the user's current record when
// a transfer opens, so a reload or an API update applies to the next transfer.
import { AppError } from '../errors.ts';
import type { UserRecord } from '../model.ts';
import { throttle, type Bucket } from './bandwidth.ts';
import type { Connection, Direction } from './connection.ts';
import type { UsageBook } from './quota.ts';

const MB = 1024 * 1024;

/** What the core needs to apply limits: the current user records and where bytes are counted. */
export interface LimitsSource {
  /** The user's current record (after reloads and API updates); undefined keeps the login-time one. */
  currentUser(username: string): Promise<UserRecord | undefined> | UserRecord | undefined;
  book?: UsageBook;
}

export interface TransferLimits {
  /** Bytes per second wanted by the user's setting (KB/s × 1024); 0 = unlimited. */
  bandwidthKb: number;
  /** Bytes; 0 = unlimited. */
  upload: number;
  download: number;
  total: number;
  /** Bytes a single uploaded file may reach; 0 = unlimited. */
  maxFileSize: number;
}

export function transferLimitsOf(user: UserRecord, direction: Direction): TransferLimits {
  return {
    bandwidthKb: (direction === 'upload' ? user.upload_bandwidth : user.download_bandwidth) ?? 0,
    upload: (user.upload_data_transfer ?? 0) * MB,
    download: (user.download_data_transfer ?? 0) * MB,
    total: (user.total_data_transfer ?? 0) * MB,
    maxFileSize: user.filters?.max_upload_file_size ?? 0,
  };
}

/** The error a transfer past an allowance gets: uploads the quota error, downloads a refusal to read. */
export function allowanceError(direction: Direction, detail: string): AppError {
  return direction === 'upload'
    ? new AppError('quota_exceeded', `quota exceeded: ${detail}`)
    : new AppError('read_quota_exceeded', `denying read due to quota limits: ${detail}`);
}

/** How many more bytes `direction` may move under `limits` given what was moved; Infinity = no limit. */
export function remainingAllowance(limits: TransferLimits, direction: Direction, used: { upload: number; download: number }): number {
  let left = Infinity;
  const own = direction === 'upload' ? limits.upload : limits.download;
  if (own > 0) left = Math.min(left, own - (direction === 'upload' ? used.upload : used.download));
  if (limits.total > 0) left = Math.min(left, limits.total - used.upload - used.download);
  return left;
}

/** One transfer's view of its user's limits: what every chunk passes through. */
export class TransferGate {
  readonly #bucket: Bucket | undefined;
  readonly #key: string;
  /** Whether any data transfer allowance applies (else bytes are only counted). */
  readonly #limited: boolean;

  constructor(
    readonly direction: Direction,
    readonly limits: TransferLimits,
    username: string,
    private readonly book: UsageBook | undefined,
    /** The user's shared bandwidth bucket for this direction (none: unlimited). */
    bucket?: Bucket,
  ) {
    this.#bucket = bucket;
    this.#key = `user:${username}`;
    this.#limited = !!book && (limits.upload > 0 || limits.download > 0 || limits.total > 0);
  }

  /** Throws when the user's data transfer allowance for this direction is used up. */
  checkOpen(): void {
    if (this.#left() <= 0) throw allowanceError(this.direction, 'data transfer limit reached');
  }

  /** Bytes this direction may still move under the data transfer allowances; Infinity when none applies. */
  allowance(): number {
    return this.#left();
  }

  #left(): number {
    if (!this.#limited || !this.book) return Infinity;
    return remainingAllowance(this.limits, this.direction, this.book.transferred(this.#key));
  }

  /**
   * Lets `bytes` through: refuses them when they would pass the data transfer allowance (the
   * transfer is cut), counts them, and waits for the bandwidth bucket.
   */
  pass(bytes: number): Promise<void> | undefined {
    if (bytes <= 0) return undefined;
    if (this.book) {
      if (this.#limited && bytes > this.#left()) throw allowanceError(this.direction, 'data transfer limit reached');
      this.book.addTransferred(this.#key, this.direction === 'upload' ? bytes : 0, this.direction === 'download' ? bytes : 0);
    }
    return throttle(this.#bucket, bytes);
  }

  /** Throws when an upload would make the file larger than filters.max_upload_file_size. */
  checkFileSize(end: number): void {
    if (this.limits.maxFileSize > 0 && end > this.limits.maxFileSize)
      throw new AppError('quota_exceeded', `quota exceeded: max_upload_file_size is ${this.limits.maxFileSize} bytes`);
  }
}

/**
 * The gate for a new transfer of `conn`, from the user's current limits; throws when the data
 * transfer allowance is already used up, so nothing is opened.
 */
export async function openGate(conn: Connection, direction: Direction): Promise<TransferGate | undefined> {
  const src = conn.limits;
  if (!src) return undefined;
  const user = (await src.currentUser(conn.username)) ?? conn.user;
  const limits = transferLimitsOf(user, direction);
  const bucket = conn.context.buckets.for(conn.username, direction, limits.bandwidthKb);
  const gate = new TransferGate(direction, limits, conn.username, src.book, bucket);
  gate.checkOpen();
  return gate;
}
