// What a fuzz target is: one parser behind a function that takes raw bytes, lets the parser's own
// typed error pass as an expected answer, and throws InvariantError (or anything else) when the
// parser answers with something outside its declared shape.

export interface FuzzTarget {
  name: string;
  /** Largest input the mutator builds, in bytes. */
  maxLen: number;
  /** Tokens of the format the mutator splices in (keywords, delimiters, magic numbers). */
  dictionary?: readonly (string | Uint8Array)[];
  /**
   * Runs one input. Returns normally when the parser returned a value of its declared shape or
   * raised its module's typed error; throws otherwise. May be async (the config loader is).
   */
  run(data: Buffer): void | Promise<void>;
}

export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new InvariantError(message);
}

/** Runs `fn`; an error of one of the `allowed` classes is the parser's own answer and returns undefined. */
export function expectOnly<T>(allowed: readonly (abstract new (...args: never[]) => Error)[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (allowed.some((c) => err instanceof c)) {
      check(typeof (err as Error).message === 'string' && (err as Error).message.length > 0, 'a typed error carries a message');
      return undefined;
    }
    throw err;
  }
}

/** Async `expectOnly`. */
export async function expectOnlyAsync<T>(allowed: readonly (abstract new (...args: never[]) => Error)[], fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (allowed.some((c) => err instanceof c)) return undefined;
    throw err;
  }
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
