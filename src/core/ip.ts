// Client addresses as every protocol reports them.
import { isIPv4 } from 'node:net';

/** "::ffff:1.2.3.4" is 1.2.3.4: what a dual-stack listener reports for an IPv4 client. */
export function plainIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}
