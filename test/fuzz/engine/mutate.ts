// The mutator: a seeded PRNG and libFuzzer-style byte mutations (bit flips, interesting integers,
// inserts, deletes, chunk copies, dictionary tokens, crossover with another corpus entry), stacked
// one to four at a time. Deterministic for a given seed, so a short run is repeatable.

/** mulberry32: small, fast, and good enough to drive mutations. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// Lengths and limits that parsers get wrong: around 0, signed and unsigned boundaries, sizes.
const INTERESTING_32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 256, 257, 1024, 4096, 65535, 34000];
const INTERESTING_TEXT = ['0', '-1', '65536', '4294967296', '9007199254740993', '1e308', 'NaN', '', ' ', '\r\n', '\n', '\0', '%00', '..', '/', '\\', '"', "'", '<', '>', '&', '\u00e9', '\ud800', '\uffff'];

export interface MutatorOptions {
  rng: Rng;
  maxLen: number;
  dictionary: readonly Uint8Array[];
}

export class Mutator {
  readonly #rng: Rng;
  readonly #maxLen: number;
  readonly #dict: readonly Uint8Array[];
  readonly #text: readonly Uint8Array[] = INTERESTING_TEXT.map((t) => Buffer.from(t));

  constructor(opts: MutatorOptions) {
    this.#rng = opts.rng;
    this.#maxLen = opts.maxLen;
    this.#dict = opts.dictionary;
  }

  /** A mutated copy of `input`; `other` is a second corpus entry for crossover. */
  mutate(input: Uint8Array, other: Uint8Array | undefined): Buffer {
    let b: Buffer = Buffer.from(input);
    const n = 1 + this.#rng.below(4);
    for (let i = 0; i < n; i++) b = this.#once(b, other);
    return b.length > this.#maxLen ? b.subarray(0, this.#maxLen) : b;
  }

  #once(b: Buffer, other: Uint8Array | undefined): Buffer {
    const r = this.#rng;
    const pos = (extra = 0): number => r.below(b.length + extra);
    switch (r.below(other ? 12 : 11)) {
      case 0: // flip a bit
        if (b.length) b[pos()]! ^= 1 << r.below(8);
        return b;
      case 1: // set a random byte
        if (b.length) b[pos()] = r.below(256);
        return b;
      case 2: // set a byte to a boundary value
        if (b.length) b[pos()] = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x0a, 0x0d][r.below(8)]!;
        return b;
      case 3: { // overwrite 4 bytes with an interesting integer, big-endian (SSH, PROXY v2) or little
        if (b.length < 4) return this.#insert(b, pos(1), u32(INTERESTING_32[r.below(INTERESTING_32.length)]!, r.chance(0.8)));
        const at = r.below(b.length - 3);
        const v = u32(INTERESTING_32[r.below(INTERESTING_32.length)]!, r.chance(0.8));
        b.set(v, at);
        return b;
      }
      case 4: // delete a range
        if (b.length < 2) return b;
        {
          const at = pos();
          const len = 1 + r.below(Math.min(16, b.length - at));
          return Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
        }
      case 5: // insert random bytes
        return this.#insert(b, pos(1), Buffer.from(Array.from({ length: 1 + r.below(8) }, () => r.below(256))));
      case 6: // duplicate a chunk somewhere else
        if (!b.length) return b;
        {
          const at = pos();
          const len = 1 + r.below(Math.min(64, b.length - at));
          return this.#insert(b, pos(1), Buffer.from(b.subarray(at, at + len)));
        }
      case 7: // repeat a byte many times (long tokens, deep nesting)
        if (!b.length) return b;
        return this.#insert(b, pos(1), Buffer.alloc(1 + r.below(r.chance(0.1) ? 4096 : 64), b[pos()]!));
      case 8: // a dictionary token, inserted or overwriting
      case 9:
        if (!this.#dict.length) return this.#insert(b, pos(1), this.#text[r.below(this.#text.length)]!);
        {
          const t = this.#dict[r.below(this.#dict.length)]!;
          if (r.chance(0.5) || b.length < t.length) return this.#insert(b, pos(1), t);
          b.set(t, r.below(b.length - t.length + 1));
          return b;
        }
      case 10: // an interesting piece of text (numbers, separators, escapes)
        return this.#insert(b, pos(1), this.#text[r.below(this.#text.length)]!);
      default: { // crossover: splice a piece of another corpus entry in
        const o = other!;
        if (!o.length) return b;
        const at = r.below(o.length);
        const len = 1 + r.below(o.length - at);
        if (r.chance(0.5)) return this.#insert(b, pos(1), o.subarray(at, at + len));
        const cut = pos(1);
        return Buffer.concat([b.subarray(0, cut), o.subarray(at)]);
      }
    }
  }

  #insert(b: Buffer, at: number, piece: Uint8Array): Buffer {
    if (b.length + piece.length > this.#maxLen) return b;
    return Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
  }
}

function u32(v: number, bigEndian: boolean): Buffer {
  const out = Buffer.alloc(4);
  if (bigEndian) out.writeUInt32BE(v >>> 0, 0);
  else out.writeUInt32LE(v >>> 0, 0);
  return out;
}
