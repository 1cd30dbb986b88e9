// Types for the SFTP protocol module, for the tests that drive its decoder directly (the fuzz
// target and the unit test of malformed requests); the project itself goes through src/lib/ssh2.ts.
import type { EventEmitter } from 'node:events';

export interface SftpChannelInfo {
  type: string;
  incoming: object;
  outgoing: { id: number; window: number; packetSize: number; state: string };
}

export class SFTP extends EventEmitter {
  constructor(client: { _protocol: object }, chanInfo: SftpChannelInfo, cfg: { server?: boolean; biOpt?: string });
  /** Feeds bytes received on the channel. */
  push(data: Buffer | null): void;
}

export const STATUS_CODE: Record<string, number>;
