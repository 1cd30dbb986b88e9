// `sftpgo ping`: the health check of a running server, for a container HEALTHCHECK where no shell or
// curl exists. It reads the config `serve` reads and asks the first listener it can: the telemetry
// /healthz, else the REST API's /healthz, else the SSH identification of the first SFTP binding,
// else the FTP greeting. One line says what was checked and how it went.
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Config } from '../config/load.ts';

export interface Probe {
  /** What is checked, e.g. `telemetry http://127.0.0.1:10000/healthz`. */
  target: string;
  run(timeoutMs: number): Promise<string>;
}

export interface PingResult {
  ok: boolean;
  line: string;
}

/** The probe for `config`, or undefined when it configures no listener to ask. */
export function probeFor(config: Config): Probe | undefined {
  const t = config.telemetry;
  if (t?.bind_port) {
    const https = Boolean(t.certificate_file && t.certificate_key_file);
    return httpProbe('telemetry', { https, host: t.bind_address ?? '127.0.0.1', port: t.bind_port });
  }
  const api = (config.httpd?.bindings ?? []).find((b) => b.enable_rest_api !== false && b.port > 0);
  if (api) return httpProbe('httpd', { https: api.enable_https === true, host: api.address || '127.0.0.1', port: api.port });
  const ssh = (config.sftpd?.bindings ?? []).find((b) => b.port > 0);
  if (ssh) return greetingProbe('sftpd', { host: ssh.address ?? '', port: ssh.port, expect: /^SSH-2\.0-/, what: 'SSH identification' });
  const ftp = (config.ftpd?.bindings ?? []).find((b) => b.port > 0);
  if (ftp) return greetingProbe('ftpd', { host: ftp.address ?? '', port: ftp.port, expect: /^220[ -]/, what: 'FTP greeting' });
  return undefined;
}

export async function ping(probe: Probe, timeoutMs: number): Promise<PingResult> {
  try {
    return { ok: true, line: `healthy: ${probe.target}: ${await probe.run(timeoutMs)}` };
  } catch (err) {
    return { ok: false, line: `unhealthy: ${probe.target}: ${(err as Error).message}` };
  }
}

/** A wildcard listen address is reached on loopback. */
function dialable(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function httpProbe(service: string, opts: { https: boolean; host: string; port: number }): Probe {
  const host = dialable(opts.host);
  const url = `${opts.https ? 'https' : 'http'}://${hostPort(host, opts.port)}/healthz`;
  return {
    target: `${service} ${url}`,
    run: (timeoutMs) =>
      new Promise((resolve, reject) => {
        // The server's own certificate may be self-signed or name another host: liveness is the question.
        const options: RequestOptions & { rejectUnauthorized?: boolean } = { host, port: opts.port, path: '/healthz', method: 'GET', timeout: timeoutMs };
        if (opts.https) options.rejectUnauthorized = false;
        const req = (opts.https ? httpsRequest : httpRequest)(options, (res) => {
          res.resume();
          res.once('end', () => (res.statusCode === 200 ? resolve('HTTP 200') : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
        req.once('error', (err) => reject(err));
        req.end();
      }),
  };
}

function greetingProbe(service: string, opts: { host: string; port: number; expect: RegExp; what: string }): Probe {
  const host = dialable(opts.host);
  return {
    target: `${service} ${hostPort(host, opts.port)}`,
    run: (timeoutMs) =>
      new Promise((resolve, reject) => {
        const socket = connect({ host, port: opts.port });
        let text = '';
        const done = (err: Error | undefined, line?: string) => {
          socket.destroy();
          if (err) reject(err);
          else resolve(`${opts.what} "${line}"`);
        };
        socket.setTimeout(timeoutMs, () => done(new Error(`no ${opts.what} within ${timeoutMs / 1000} s`)));
        socket.once('error', (err) => done(err));
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          const nl = text.indexOf('\n');
          if (nl < 0 && text.length < 512) return;
          const line = text.slice(0, nl < 0 ? text.length : nl).replace(/\r$/, '');
          done(opts.expect.test(line) ? undefined : new Error(`unexpected ${opts.what} "${line.slice(0, 80)}"`), line);
        });
        socket.once('end', () => done(new Error(`closed before the ${opts.what}`)));
      }),
  };
}
