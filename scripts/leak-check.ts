// After the test suite: greps every log and captured CLI output the tests left under
// test-results/logs/ (test/support/test-logs.ts) for the secrets the tests use
// (test/support/secrets.ts), and prints the file and line of every hit. Exits 1 on any.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_SECRETS } from '../test/support/secrets.ts';
import { LOGS_DIR } from '../test/support/test-logs.ts';

const dir = process.argv[2] ?? LOGS_DIR;
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.log')).sort() : [];
const secrets = Object.entries(TEST_SECRETS);
let hits = 0;
for (const f of files) {
  const lines = readFileSync(join(dir, f), 'utf8').split('\n');
  lines.forEach((line, i) => {
    for (const [name, value] of secrets) {
      if (!line.includes(value)) continue;
      hits++;
      console.log(`${join(dir, f)}:${i + 1}: the test secret ${name} appears: ${line.replaceAll(value, `<${name}>`).slice(0, 200)}`);
    }
  });
}
console.log(`leak check: ${files.length} log files, ${hits} secret${hits === 1 ? '' : 's'} found`);
process.exit(hits > 0 ? 1 : 0);
