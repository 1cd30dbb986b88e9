// One real server in this process with SFTP, FTP, WebDAV and REST API bindings on 127.0.0.1 and one
// user with a home holding hello.txt: what the tests of a listener's door (connection caps, IP
// lists, rate limiters) start, each with its own `common:` settings. Log lines are collected.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/config/load.ts';
import { startServer, type Server } from '../../src/serve/serve.ts';
import { freePort } from './net.ts';
import { keptSink } from './test-logs.ts';
import { tempDir } from './tmp.ts';

export interface DoorPorts {
  sftp: number;
  ftp: number;
  dav: number;
  api: number;
}

export interface DoorServerOptions {
  /** Prefix of the temporary directory. */
  prefix: string;
  username: string;
  password: string;
  /** The lines under `common:`, indented by two spaces, ending with a newline. */
  common: string;
  /** More `sftpd:` lines after its bindings, indented by two spaces, ending with a newline. */
  sftpd?: string;
  /** Top-level YAML after `data_provider:` and before `users:` (ip_lists, ...). */
  extra?: string;
  /** Top-level YAML after the user (admins, ...). */
  trailer?: string;
}

export interface DoorServer {
  server: Server;
  dir: string;
  home: string;
  ports: DoorPorts;
  configFile: string;
  configText: string;
  /** Every log line the server wrote, parsed. */
  lines: Record<string, unknown>[];
}

export async function startDoorServer(opts: DoorServerOptions): Promise<DoorServer> {
  const dir = tempDir(opts.prefix);
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'hello.txt'), 'hello');
  const ports: DoorPorts = { sftp: await freePort(), ftp: await freePort(), dav: await freePort(), api: await freePort() };
  const configFile = join(dir, 'sftpgo.yaml');
  const configText = `common:
${opts.common}sftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.sftp} }]
${opts.sftpd ?? ''}ftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.ftp} }]
webdavd:
  bindings: [{ address: 127.0.0.1, port: ${ports.dav} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.api} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
${opts.extra ?? ''}users:
  - username: ${opts.username}
    password: "${opts.password}"
    home_dir: ${home}
    permissions: { "/": ["*"] }
${opts.trailer ?? ''}`;
  writeFileSync(configFile, configText);
  const loaded = loadConfigFile(configFile);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const lines: Record<string, unknown>[] = [];
  const server = await startServer({ loaded: loaded.value, dataDir: join(dir, 'data'), flags: { config: configFile }, logSink: keptSink('door-server', (l) => void lines.push(l)) });
  return { server, dir, home, ports, configFile, configText, lines };
}
