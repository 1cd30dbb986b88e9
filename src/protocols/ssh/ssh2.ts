// The one place the project imports ssh2 from, so the cipher work (chacha20-poly1305 under Bun,
// one write per packet) can swap in a patched copy without touching the protocol code.
import ssh2 from 'ssh2';

export const { Server, Client, utils } = ssh2;
export type {
  Connection,
  ServerConfig,
  // @types/ssh2 calls the client's options ConnectConfig
  ConnectConfig as ClientConfig,
  AuthContext,
  Session,
  SFTPWrapper,
  ServerChannel,
  ParsedKey,
} from 'ssh2';
