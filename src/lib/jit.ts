// Functions that run thousands of times once per start (reading a 10,000-user config, planning it
// against the store) and then rarely again. That is enough for JavaScriptCore to compile them with
// its top tier, FTL, on a background thread, and those compiles cost more CPU than the run has
// left: measured on a no-change `plan` of 10,000 users, ~0.3 s of ~0.85 s user CPU, competing for
// the same two cores as the main thread. Under Bun such functions stay at the DFG tier (still
// optimised); other runtimes decide on their own.
type AnyFunction = (...args: never[]) => unknown;

const noFTL: ((f: AnyFunction) => void) | undefined =
  typeof Bun !== 'undefined' ? (process.getBuiltinModule?.('bun:jsc') as { noFTL?: (f: AnyFunction) => void } | undefined)?.noFTL : undefined;

/** Keeps `fns` out of the top JIT tier where the runtime allows it (Bun); a no-op elsewhere. */
export function oneShot(...fns: AnyFunction[]): void {
  if (noFTL) for (const f of fns) noFTL(f);
}
