// Replies in the order requests arrived. Requests on one SFTP channel run concurrently (a slow
// STAT need not wait for a READ), but their replies leave in arrival order, as OpenSSH's
// sftp-server sends them: OpenSSH 9.2's scp (SFTP mode, writing in place) truncates the file at
// the highest offset acknowledged in order, so a reordered WRITE ack or READ reply cut files short.
//
// A reply that is ready before the ones ahead of it waits here as a closure; the closure also
// owns what it sends (a pooled read buffer goes back to its pool only once the reply is written).

/** Writes one reply; writing fails only once the channel is gone, and then every reply is moot. */
function send(write: () => void): void {
  try {
    write();
  } catch {
    // Channel already gone.
  }
}

/** What an answered slot holds instead of its reply. */
const SENT = (): void => undefined;

interface Slot {
  id: number;
  write?: () => void;
}

export class ReplyOrder {
  /** Requests awaiting a reply, oldest first; `#head` is the next one to go out. */
  #slots: Slot[] = [];
  #head = 0;
  /** Waiting slots by request id; a list because a client may reuse an id it has not had answered. */
  readonly #byId = new Map<number, Slot[]>();

  /** Number of requests that arrived and have not been answered on the wire. */
  get waiting(): number {
    return this.#slots.length - this.#head;
  }

  /** Records a request's place in line, in the order requests arrive. */
  arrive(id: number): void {
    const slot: Slot = { id };
    this.#slots.push(slot);
    const same = this.#byId.get(id);
    if (same) same.push(slot);
    else this.#byId.set(id, [slot]);
  }

  /**
   * Sends the reply to `id` now if every request ahead of it has been answered, else when they
   * have. A reply to an id that never arrived (nothing to keep in order) is written at once.
   */
  reply(id: number, write: () => void): void {
    const same = this.#byId.get(id);
    const slot = same?.find((s) => s.write === undefined);
    if (!slot) return send(write);
    slot.write = write;
    this.#drain();
  }

  /** Forgets every waiting reply without writing it (the channel is gone); runs none of them. */
  clear(): void {
    this.#slots = [];
    this.#head = 0;
    this.#byId.clear();
  }

  #drain(): void {
    while (this.#head < this.#slots.length) {
      const slot = this.#slots[this.#head]!;
      const write = slot.write;
      if (write === undefined) break;
      this.#head++;
      const same = this.#byId.get(slot.id)!;
      same.shift();
      if (same.length === 0) this.#byId.delete(slot.id);
      // An answered slot lets go of its closure and what it captured (reply data, buffers): kept,
      // they added up to hundreds of MiB across 200 busy sessions.
      slot.write = SENT;
      send(write);
    }
    // Keep the array short: empty it whenever every request is answered (the usual case), and
    // drop answered slots once they are most of it.
    if (this.#head === this.#slots.length) {
      this.#slots = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#slots.length) {
      this.#slots = this.#slots.slice(this.#head);
      this.#head = 0;
    }
  }
}
