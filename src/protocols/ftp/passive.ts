// Passive mode: which address a PASV reply announces (per-client-network overrides, then the
// forced external IP, then the control connection's own address), and a listener on a free port
// of the configured range.
import { BlockList, createServer, isIPv6, type Server } from 'node:net';
import type { TlsBinding } from '../../config/schema-types.ts';
import { AppError } from '../../errors.ts';

export { plainIp } from '../../core/ip.ts';

function inNetworks(networks: readonly string[], ip: string): boolean {
  const list = new BlockList();
  for (const n of networks) {
    const [addr = '', bits] = n.split('/');
    const family = isIPv6(addr) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  return list.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
}

/** The address a PASV reply announces to `clientIp`. */
export function passiveAddress(binding: TlsBinding, clientIp: string, localIp: string): string {
  for (const o of binding.passive_ip_overrides ?? []) {
    try {
      if (o.ip && o.networks?.length && inNetworks(o.networks, clientIp)) return o.ip;
    } catch {
      // A malformed network entry never matches.
    }
  }
  return binding.force_passive_ip || localIp;
}

export interface PortRange {
  start?: number;
  end?: number;
}

function listenOn(server: Server, host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** A listener on `host` at a free port of `range` (any free port when no range is configured). */
export async function listenPassive(host: string, range: PortRange | undefined): Promise<Server> {
  const start = range?.start ?? 0;
  const end = range?.end ?? 0;
  if (start <= 0 || end <= 0) {
    const server = createServer({ pauseOnConnect: true });
    await listenOn(server, host, 0);
    return server;
  }
  const n = end - start + 1;
  const first = Math.floor(Math.random() * n);
  for (let i = 0; i < n; i++) {
    const server = createServer({ pauseOnConnect: true });
    if (await listenOn(server, host, start + ((first + i) % n))) return server;
  }
  throw new AppError('io', `no free passive port in ${start}-${end}`);
}
