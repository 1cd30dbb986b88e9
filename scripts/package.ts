// `npm run package`: every release artifact, built by one script per stage under packaging/, in
// order. Each stage is run as `bun <script> --out DIR --epoch N --arch x64,arm64` (packaging/stage.ts)
// and finds what earlier stages left in DIR, so a new artifact is one more line in STAGES.
//   bun scripts/package.ts [--out DIR] [--arch x64,arm64] [--stages binaries,archives]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { stageArgs, stageContext } from '../packaging/stage.ts';

interface Stage {
  name: string;
  /** Relative to the repository root. */
  script: string;
}

const STAGES: Stage[] = [
  { name: 'binaries', script: 'packaging/binaries.ts' },
  { name: 'archives', script: 'packaging/archives.ts' },
  { name: 'oci', script: 'packaging/oci/stage.ts' },
  { name: 'linux', script: 'packaging/linux/stage.ts' },
];

const argv = process.argv.slice(2);
const ctx = stageContext(argv);
const stagesFlag = argv.indexOf('--stages');
if (stagesFlag >= 0 && argv[stagesFlag + 1] === undefined) {
  console.error('package: --stages needs a comma-separated list of stage names');
  process.exit(2);
}
const only = stagesFlag >= 0 ? argv[stagesFlag + 1]!.split(',') : undefined;
const unknown = only?.filter((n) => !STAGES.some((s) => s.name === n)) ?? [];
if (unknown.length > 0) {
  console.error(`package: no stage named ${unknown.join(', ')} (stages: ${STAGES.map((s) => s.name).join(', ')})`);
  process.exit(2);
}
for (const stage of STAGES) {
  if (only !== undefined && !only.includes(stage.name)) continue;
  console.log(`== ${stage.name}`);
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(ctx.root, stage.script), ...stageArgs(ctx)], { cwd: ctx.root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`package: stage ${stage.name} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  console.log(`== ${stage.name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
console.log(`packages in ${ctx.outDir}`);
