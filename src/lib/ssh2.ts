// The one place the project imports ssh2 from (server, client and the SFTP backend alike). It points at the thin fork in vendor/ssh2 (upstream
// ssh2 1.17.0 plus chacha20-poly1305 under Bun and one socket write per packet; see
// vendor/ssh2/README.md). Types still come from @types/ssh2: the API is unchanged.
import ssh2 from '../../vendor/ssh2/lib/index.js';

export const { Server, Client, utils } = ssh2;
/** What runs chacha20-poly1305@openssh.com here ('sodium', 'noble', ...; null: not offered). */
export const { chachaImplementation } = ssh2;
export type {
  Connection,
  ServerConfig,
  // @types/ssh2 calls the client's options ConnectConfig; keep the name the project already uses
  ConnectConfig as ClientConfig,
  AuthContext,
  Session,
  SFTPWrapper,
  ServerChannel,
  ParsedKey,
  // The SFTP v3 attribute set (whole seconds), the same shape both directions.
  Attributes as SftpAttrs,
} from 'ssh2';
