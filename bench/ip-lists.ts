// IP list lookups at 100,000 entries: the longest-prefix index every new connection is matched
// against (src/core/ip-lists.ts) next to the matcher the defender's static lists use
// (lib/cidr.ts cidrMatcher: a set of single addresses and a linear scan of networks).
//
//   bun bench/ip-lists.ts [--entries 100000] [--lookups 200000]
import { parseArgs } from 'node:util';
import { IpListIndex } from '../src/core/ip-lists.ts';
import { cidrMatcher, normaliseIpOrNet } from '../src/lib/cidr.ts';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '100000' }, lookups: { type: 'string', default: '200000' } } });
const ENTRIES = Number(values.entries);
const LOOKUPS = Number(values.lookups);

// A fixed pseudo-random sequence, so runs compare.
let seed = 42;
function rand(n: number): number {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
}
const v4 = () => `${1 + rand(223)}.${rand(256)}.${rand(256)}.${rand(256)}`;
const v6 = () => `2001:db8:${rand(65536).toString(16)}:${rand(65536).toString(16)}::${rand(65536).toString(16)}`;

// The mix a large deployment has: mostly single addresses (blocklists), some networks of every size.
const entries: string[] = [];
for (let i = 0; i < ENTRIES; i++) {
  const r = rand(100);
  if (r < 75) entries.push(`${v4()}/32`);
  else if (r < 90) entries.push(normaliseIpOrNet(`${v4()}/${16 + rand(15)}`)!);
  else if (r < 95) entries.push(normaliseIpOrNet(`${v6()}/${48 + rand(17)}`)!);
  else entries.push(`${v6()}/128`);
}

const t0 = performance.now();
const index = new IpListIndex();
for (const e of entries) index.set(e, { mode: 1, protocols: 0 });
const buildMs = performance.now() - t0;

const probes: string[] = [];
for (let i = 0; i < LOOKUPS; i++) {
  const r = rand(100);
  // A quarter hit a listed single address; the rest are random (network hits and misses).
  if (r < 25) probes.push(entries[rand(entries.length)]!.split('/')[0]!);
  else probes.push(r < 90 ? v4() : v6());
}

function time(label: string, match: (ip: string) => unknown, n = probes.length): { label: string; perLookupUs: number; hits: number } {
  let hits = 0;
  for (let i = 0; i < Math.min(1000, n); i++) match(probes[i]!);
  const start = performance.now();
  for (let i = 0; i < n; i++) if (match(probes[i]!)) hits++;
  return { label, perLookupUs: ((performance.now() - start) * 1000) / n, hits };
}

const v4Probes = probes.filter((p) => !p.includes(':'));
const v6Probes = probes.filter((p) => p.includes(':'));
const family = (label: string, list: string[]) => {
  const start = performance.now();
  let hits = 0;
  for (const ip of list) if (index.match(ip, 'SSH')) hits++;
  return { label, perLookupUs: ((performance.now() - start) * 1000) / list.length, hits };
};

const rows = [
  time('longest-prefix index (IP lists)', (ip) => index.match(ip, 'SSH')),
  family(`  IPv4 addresses only (${v4Probes.length})`, v4Probes),
  family(`  IPv6 addresses only (${v6Probes.length})`, v6Probes),
  // The linear scan is slow enough that a sample tells its rate.
  (() => {
    const t = performance.now();
    const matcher = cidrMatcher(entries);
    const built = performance.now() - t;
    const r = time('set + linear network scan (cidrMatcher)', matcher, Math.min(2000, probes.length));
    return { ...r, label: `${r.label}, built in ${built.toFixed(0)} ms` };
  })(),
];

console.log(`entries: ${ENTRIES} (index: ${index.size}, built in ${buildMs.toFixed(0)} ms), lookups: ${LOOKUPS}, bun ${Bun.version}`);
for (const r of rows) console.log(`${r.label}: ${r.perLookupUs.toFixed(2)} µs per lookup (${r.hits} hits)`);
const rss = process.memoryUsage().rss / 1024 / 1024;
console.log(`RSS after both: ${rss.toFixed(0)} MiB`);
