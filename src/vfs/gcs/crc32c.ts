// CRC32C for the GCS SDK's upload validation. The SDK's own CRC32C is a byte-at-a-time table loop
// that ran at 72-91 MB/s under Bun, which made it the limit of every GCS upload (it is computed
// over all the data); hash-wasm's WebAssembly CRC32C ran at 1.2-1.7 GB/s on the same machine. The
// WASM module loads asynchronously while the SDK wants a synchronous generator, so until it is
// loaded (a few ms after this module is first imported) the SDK's own implementation is used.
import { CRC32C, type CRC32CValidator } from '@google-cloud/storage';
import { createCRC32, type IHasher } from 'hash-wasm';

/** The Castagnoli polynomial (reversed), as hash-wasm takes it. */
const CASTAGNOLI = 0x82f63b78;

let hasher: IHasher | undefined;
export const crc32cReady: Promise<void> = createCRC32(CASTAGNOLI).then(
  (h) => void (hasher = h),
  () => undefined, // the SDK's implementation stays in use
);

/**
 * One running checksum. The WASM hasher is shared (JavaScript runs one update at a time), so each
 * checksum keeps its own few bytes of state and loads them around every update.
 */
class WasmCrc32c implements CRC32CValidator {
  #state: Uint8Array;

  constructor(private readonly h: IHasher) {
    h.init();
    this.#state = h.save();
  }

  update(data: Buffer): void {
    this.#state = this.h.load(this.#state).update(data).save();
  }

  toString(): string {
    return Buffer.from(this.h.load(this.#state).digest('binary')).toString('base64');
  }

  validate(value: string): boolean {
    return value === this.toString();
  }
}

/** The `crc32cGenerator` for the Storage client. */
export function crc32cGenerator(): CRC32CValidator {
  return hasher ? new WasmCrc32c(hasher) : new CRC32C();
}
