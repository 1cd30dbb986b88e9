// Pull-style reads over an SSH channel (lines and exact byte counts), for the SCP protocol. Reads
// use the stream in paused mode, so backpressure reaches the client through the window. Not the
// async iterator: it destroys the stream at end of input, before the exit status can be sent.
import type { Readable } from 'node:stream';

export class ChannelReader {
  #buf: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(private readonly stream: Readable) {}

  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    const chunk = await this.#next();
    if (!chunk) {
      this.#ended = true;
      return false;
    }
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    return true;
  }

  #next(): Promise<Buffer | undefined> {
    const s = this.stream;
    return new Promise((resolve, reject) => {
      const settle = (f: () => void): void => {
        s.off('readable', tryRead);
        s.off('end', onEnd);
        s.off('close', onEnd);
        s.off('error', onErr);
        f();
      };
      const tryRead = (): void => {
        const c = s.read() as Buffer | null;
        if (c !== null) settle(() => resolve(c));
        else if (s.readableEnded || s.destroyed) settle(() => resolve(undefined));
      };
      const onEnd = (): void => settle(() => resolve(undefined));
      const onErr = (e: Error): void => settle(() => reject(e));
      s.on('readable', tryRead);
      s.on('end', onEnd);
      s.on('close', onEnd);
      s.on('error', onErr);
      tryRead();
    });
  }

  /** One byte, or undefined at end of stream. */
  async byte(): Promise<number | undefined> {
    while (this.#buf.length === 0) if (!(await this.#fill())) return undefined;
    const b = this.#buf[0]!;
    this.#buf = this.#buf.subarray(1);
    return b;
  }

  /** A line without its "\n"; undefined at end of stream. Lines are short protocol messages. */
  async line(max = 8192): Promise<string | undefined> {
    for (;;) {
      const nl = this.#buf.indexOf(10);
      if (nl >= 0) {
        const s = this.#buf.toString('utf8', 0, nl);
        this.#buf = this.#buf.subarray(nl + 1);
        return s;
      }
      if (this.#buf.length > max) throw new Error('protocol line too long');
      if (!(await this.#fill())) return undefined;
    }
  }

  /** Yields exactly `n` bytes in chunks as they arrive; throws if the stream ends first. */
  async *exactly(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length === 0 && !(await this.#fill())) throw new Error('unexpected end of stream');
      const take = Math.min(left, this.#buf.length);
      const chunk = this.#buf.subarray(0, take);
      this.#buf = this.#buf.subarray(take);
      left -= take;
      yield chunk;
    }
  }

  /**
   * Drops buffered input. The iterator is deliberately not return()ed: that would destroy the
   * channel before the exit status is sent; the channel is ended by whoever owns it.
   */
  close(): void {
    this.#buf = Buffer.alloc(0);
  }
}
