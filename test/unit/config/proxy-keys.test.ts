// The PROXY protocol keys the schema cannot check alone: proxy_allowed and proxy_skipped hold IPs
// or CIDRs, and each binding kind takes its own switch under SFTPGo's name (apply_proxy_config on
// SFTP and FTP bindings, proxy_mode on WebDAV ones); the other one is refused, not ignored.
import { expect, test } from 'bun:test';
import { parseConfigText } from '../../../src/config/load.ts';

function problems(yaml: string): string[] {
  const r = parseConfigText(yaml, 'test.yaml', '/tmp');
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

test('proxy_allowed and proxy_skipped entries must be addresses or networks', () => {
  expect(problems('common:\n  proxy_protocol: 1\n  proxy_allowed: [10.0.0.1, "10.1.0.0/16", "::1"]\n  proxy_skipped: ["192.168.0.0/24"]\n')).toEqual([]);
  expect(problems('common:\n  proxy_allowed: [haproxy.local]\n  proxy_skipped: ["10.0.0.0/33"]\n')).toEqual([
    'common.proxy_allowed[0]: "haproxy.local" is not an IP address or CIDR network',
    'common.proxy_skipped[0]: "10.0.0.0/33" is not an IP address or CIDR network',
  ]);
});

test('each binding kind takes its own proxy switch', () => {
  expect(problems('sftpd:\n  bindings: [{ port: 2022, apply_proxy_config: false }]\nftpd:\n  bindings: [{ port: 2121, apply_proxy_config: true }]\nwebdavd:\n  bindings: [{ port: 8090, proxy_mode: 1 }]\nhttpd:\n  bindings: [{ port: 8080, proxy_mode: 1 }]\n')).toEqual([]);
  const refused = problems(
    'ftpd:\n  bindings: [{ port: 2121, proxy_mode: 1 }]\nwebdavd:\n  bindings: [{ port: 8090, apply_proxy_config: true }]\nhttpd:\n  bindings: [{ port: 8080, apply_proxy_config: true }]\n',
  );
  expect(refused).toHaveLength(3);
  expect(refused[0]).toStartWith('ftpd.bindings[0].proxy_mode: not supported: FTP bindings take apply_proxy_config');
  expect(refused[1]).toStartWith('webdavd.bindings[0].apply_proxy_config: not supported: WebDAV bindings take proxy_mode');
  expect(refused[2]).toStartWith('httpd.bindings[0].apply_proxy_config: not supported: HTTP bindings take proxy_mode');
});
