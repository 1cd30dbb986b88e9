// data_provider.node: accepted only beside a shared store (PostgreSQL), its name and proto checked,
// and the identity a replica takes from it (the name defaults to the host name and API port; the URL others call).
import { expect, test } from 'bun:test';
import { hostname } from 'node:os';
import { formatIssue, parseConfigText } from '../../../src/config/load.ts';
import { nodeIdentity } from '../../../src/core/nodes.ts';

const PG = 'driver: postgresql\n  host: db\n  name: sftpgo\n  username: sftpgo\n';

function issues(dataProvider: string): string[] {
  const r = parseConfigText(`data_provider:\n  ${dataProvider}`, 'sftpgo.yaml', '/tmp');
  return r.ok ? [] : r.issues.map(formatIssue);
}

test('a node is refused without a shared store, with a message saying why', () => {
  expect(issues('node: { name: alpha }\n')).toEqual(['sftpgo.yaml:2:9: data_provider.node: data_provider.node names this server among replicas sharing a store: it needs driver postgresql']);
  expect(issues('driver: lmdb\n  node: { host: 10.0.0.1 }\n')[0]).toContain('it needs driver postgresql');
  expect(issues(`${PG}  node: { name: alpha, host: 10.0.0.1, port: 8080, proto: https }\n`)).toEqual([]);
});

test('driver postgresql names what it needs, once each, and nothing else', () => {
  expect(issues('driver: postgresql\n  name: sftpgo\n')).toEqual(['sftpgo.yaml:2:3: data_provider.host: required', 'sftpgo.yaml:2:3: data_provider.username: required']);
});

test("a node's name is one token and its proto http or https", () => {
  expect(issues(`${PG}  node: { name: "two words" }\n`).join()).toContain('data_provider.node.name: must match');
  expect(issues(`${PG}  node: { proto: ftp }\n`).join()).toContain('data_provider.node.proto: must be one of "http", "https"');
  expect(issues(`${PG}  node: { port: 70000 }\n`).join()).toContain('data_provider.node.port');
});

test('the identity: the name defaults to the host name and API port, the URL is what peers call', () => {
  const machine = { host: 'box', pid: 4242 };
  const pg = { driver: 'postgresql' as const, host: 'db', name: 'sftpgo', username: 'sftpgo' };
  expect(nodeIdentity({ data_provider: pg })).toEqual({ name: `${hostname()}:${process.pid}`, url: '', shared: true });
  expect(nodeIdentity({ data_provider: pg, httpd: { bindings: [{ port: 0 }, { port: 8081 }] } }, machine).name).toBe('box:8081');
  expect(nodeIdentity({ data_provider: pg }, machine).name).toBe('box:4242');
  expect(nodeIdentity({ data_provider: { ...pg, node: { name: 'alpha', host: '10.0.0.1', port: 8080 } } })).toEqual({ name: 'alpha', url: 'http://10.0.0.1:8080', shared: true });
  expect(nodeIdentity({ data_provider: { ...pg, node: { host: 'fd00::1', proto: 'https' } } }, machine).url).toBe('https://[fd00::1]');
  expect(nodeIdentity({}, machine)).toEqual({ name: 'box:4242', url: '', shared: false });
});
