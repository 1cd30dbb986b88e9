// The cost of groups at login: the effective user of a member of 5 groups (1 primary, 3 secondary,
// 1 membership; each with permissions, a virtual folder and filters) read from a real LMDB store,
// against the same user without groups, and the pure merge alone. In process, no server: this is
// what the login gate and the current-users memo pay per lookup. Prints a Markdown table of
// microseconds per lookup, median of the rounds.
//   bun bench/groups.ts [--lookups 20000] [--rounds 5]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBox } from '../src/config/sealed.ts';
import { applyGroups, resolveGroup, userWithGroups, type ResolvedGroup } from '../src/store/groups.ts';
import { openLmdbStore } from '../src/store/lmdb.ts';
import { migrateUp } from '../src/store/migrations.ts';
import { effectiveGroup, effectiveUser, hashingOptions, Records } from '../src/store/records.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : def);
const LOOKUPS = Number(opt('--lookups', '20000'));
const ROUNDS = Number(opt('--rounds', '5'));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-groups-'));
const store = openLmdbStore(dir);
try {
  await migrateUp(store, { log: () => {} });
  const records = new Records({ store, secrets: new SecretBox(randomBytes(32)), hashing: hashingOptions(undefined) });
  const names = ['primary', 's1', 's2', 's3', 'members'];
  await records.write(async (tx) => {
    for (const [i, name] of names.entries()) {
      await tx.put('folder', `f-${name}`, { name: `f-${name}`, mapped_path: `/srv/${name}/%username%` }, { source: 'config' });
      await tx.put('group', name, {
        name,
        user_settings: {
          ...(i === 0 ? { home_dir: '/srv/homes/%username%', quota_size: 1 << 30, max_sessions: 4 } : {}),
          permissions: { ...(i === 0 ? { '/': ['*'] } : {}), [`/${name}`]: ['list', 'download', 'upload'] },
          filters: { allowed_ip: [`10.${i}.0.0/16`], denied_protocols: ['DAV'], file_patterns: [{ path: `/${name}`, denied_patterns: ['*.exe'] }] },
        },
        virtual_folders: [{ name: `f-${name}`, virtual_path: `/${name}` }],
      }, { source: 'config' });
    }
    const base = { status: 1, home_dir: '/home/u', permissions: { '/': ['list'] } };
    await tx.put('user', 'plain', { username: 'plain', ...base }, { source: 'config' });
    await tx.put('user', 'member', { username: 'member', ...base, groups: names.map((name, i) => ({ name, type: i === 0 ? 1 : i === 4 ? 3 : 2 })) }, { source: 'config' });
  });

  const time = async (fn: () => Promise<unknown> | unknown): Promise<number> => {
    const rounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = performance.now();
      for (let i = 0; i < LOOKUPS; i++) await fn();
      rounds.push(((performance.now() - t0) * 1000) / LOOKUPS);
    }
    return median(rounds);
  };
  const user = (await effectiveUser(store, 'member'))!;
  const resolved = new Map<string, ResolvedGroup>();
  for (const name of names) resolved.set(name, await resolveGroup(store, (await effectiveGroup(store, name))!));

  const rows = [
    ['user without groups: effectiveUser', await time(() => effectiveUser(store, 'plain'))],
    ['member of 5 groups: effectiveUser (own record)', await time(() => effectiveUser(store, 'member'))],
    ['member of 5 groups: userWithGroups (what a login reads)', await time(() => userWithGroups(store, 'member'))],
    ['applyGroups alone (groups already read)', await time(() => applyGroups(user, resolved))],
  ] as const;
  console.log(`| lookup | µs per lookup (median of ${ROUNDS} × ${LOOKUPS}) |\n|---|---|`);
  for (const [what, us] of rows) console.log(`| ${what} | ${us.toFixed(1)} |`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
