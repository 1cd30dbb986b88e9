// Types for the vendored ssh2 copy: its API is upstream's, so reuse @types/ssh2. The CommonJS
// module.exports object is what an ES `import x from` yields in Node, Bun and Deno.
import type { Socket } from 'node:net';
import type * as Ssh2 from 'ssh2';

declare const ssh2: typeof Ssh2 & {
  /**
   * What runs chacha20-poly1305@openssh.com: 'binding' (upstream's addon), 'node' (node:crypto),
   * 'sodium' (libsodium via sodium-native), 'noble' (@noble/ciphers + WASM Poly1305); null when
   * the cipher is not offered.
   */
  readonly chachaImplementation: 'binding' | 'node' | 'sodium' | 'noble' | null;
};
export default ssh2;

// The fork's own API (README.md, "Fork API"): what the project used to read from private fields.
declare module 'ssh2' {
  interface Server {
    /** A raw TCP connection was accepted, before the client's identification line. */
    on(event: 'tcpConnection', listener: (socket: Socket) => void): this;
  }

  interface Connection {
    /** The client's socket. */
    readonly socket: Socket;
  }

  interface SFTPWrapper {
    /** Server: extensions (name -> data) for the VERSION reply; call before the client's INIT. */
    advertiseExtensions(extensions: Record<string, string>): void;
    /**
     * Server: Buffers in request events (handles, WRITE data, EXTENDED data) are valid only until
     * the listener returns, so the connection may free each socket chunk once parsed.
     */
    useTransientRequestData(): void;
    /**
     * Client: the caller keeps nothing of a response (handles come copied, READ data goes into
     * the caller's buffer), so the connection may free each socket chunk once parsed.
     */
    useTransientResponseData(): void;
    /**
     * Server: a request that does not decode (`code` SSH_FX_BAD_MESSAGE) or of an unknown type
     * (SSH_FX_OP_UNSUPPORTED); without a listener the status goes out at once.
     */
    on(event: 'BAD_REQUEST', listener: (reqID: number, code: number, message: string) => void): this;
    /** Server: sends SSH_FXP_EXTENDED_REPLY, queued in order with every other reply. */
    extendedReply(reqid: number, payload: Buffer): void;
    /** Server: sends the subsystem's exit-status, as sshd does when sftp-server exits. */
    exit(code: number): void;
    /** The largest SSH packet the peer takes on this channel. */
    readonly outgoingPacketSize: number;
    /** Bytes the channel windows allow in flight right now, each way. */
    readonly sendWindow: number;
    readonly receiveWindow: number;
    /** The channel is open for sending. */
    readonly isOpen: boolean;
    /** The peer identified itself as OpenSSH or dropbear. */
    readonly peerIsOpenSSH: boolean;
    /** Client: the extensions the server advertised. */
    readonly extensions: Record<string, string>;
    /** Client: the largest READ and WRITE payloads the server takes. */
    readonly maxReadLength: number;
    readonly maxWriteLength: number;
  }
}
