// The sftpd, ftpd and webdavd sections of a test config for servers that run every protocol, each
// on a free loopback port.
import { freePort } from './net.ts';

export interface ProtocolPorts {
  sftp: number;
  ftp: number;
  dav: number;
  /** One FTP passive port, when the test moves data over FTP. */
  passive?: number;
}

export async function freeProtocolPorts(opts: { passive?: boolean } = {}): Promise<ProtocolPorts> {
  const ports: ProtocolPorts = { sftp: await freePort(), ftp: await freePort(), dav: await freePort() };
  if (opts.passive) ports.passive = await freePort();
  return ports;
}

export function protocolsYaml(p: ProtocolPorts): string {
  return [
    'sftpd:',
    `  bindings: [{ address: 127.0.0.1, port: ${p.sftp} }]`,
    'ftpd:',
    ...(p.passive ? [`  passive_port_range: { start: ${p.passive}, end: ${p.passive} }`] : []),
    `  bindings: [{ address: 127.0.0.1, port: ${p.ftp} }]`,
    'webdavd:',
    `  bindings: [{ address: 127.0.0.1, port: ${p.dav} }]`,
  ].join('\n');
}
