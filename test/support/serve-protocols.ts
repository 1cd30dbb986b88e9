// One real server with SFTP, FTP and WebDAV bindings and a user per front-end, for running the
// backend suite through each protocol (as rclone's servetest does). Each user gets a home of its
// own (a local directory, or what its `filesystem:` block says), so suites running one after the
// other never see each other's files. The server runs in
// atomic upload mode: the Fs contract says an aborted write commits nothing, and over FTP and
// WebDAV only the server can keep that promise (a client cannot take back bytes it has sent).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeProtocolPorts, protocolsYaml, type ProtocolPorts } from './protocols.ts';
import { startServer, type RunningServer } from './server.ts';
import { tempDir } from './tmp.ts';
import { usersYaml } from './users.ts';
import { TEST_SECRETS } from './secrets.ts';

export interface ProtocolServer {
  server: RunningServer;
  ports: ProtocolPorts;
  password: string;
  /** Local home directory of each user. */
  homes: Record<string, string>;
  /** "SHA256:..." fingerprints of the server's SSH host keys, for pinning. */
  hostFingerprints: string[];
  stop(): Promise<void>;
}

export interface ProtocolServerOptions {
  usernames: readonly string[];
  /** Extra YAML lines for a user, indented by four spaces (e.g. its `filesystem:` block). */
  userExtra?: (username: string) => string;
}

export const SERVE_PASSWORD = TEST_SECRETS.userPassword;

function fingerprintsOf(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.pub'))
    .map((f) => {
      const blob = Buffer.from(readFileSync(join(dir, f), 'utf8').trim().split(/\s+/)[1] ?? '', 'base64');
      return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
    });
}

export async function startProtocolServer(opts: ProtocolServerOptions): Promise<ProtocolServer> {
  const dir = tempDir('serve-protocols-');
  const ports = await freeProtocolPorts();
  const { yaml: userYaml, homes } = usersYaml(
    dir,
    opts.usernames.map((username) => ({ username, extra: opts.userExtra?.(username) })),
    SERVE_PASSWORD,
  );
  const yaml = [
    'common:',
    '  upload_mode: 1',
    // The WebDAV adapter writes hundreds of files at once through fetch, whose pool keeps that many
    // connections from 127.0.0.1 open: the per-host cap (20 by default) would refuse them.
    '  max_per_host_connections: 0',
    protocolsYaml(ports),
    'data_provider:',
    '  password_hashing: { bcrypt_options: { cost: 4 } }',
    'users:',
    userYaml,
    '',
  ].join('\n');
  const server = await startServer({ yaml, cwd: dir });
  return {
    server,
    ports,
    password: SERVE_PASSWORD,
    homes,
    hostFingerprints: fingerprintsOf(join(server.dataDir, 'host_keys')),
    stop: async () => void (await server.stop()),
  };
}
