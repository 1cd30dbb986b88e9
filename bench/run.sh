#!/usr/bin/env bash
# npm run bench: every side-by-side benchmark, on the compiled binary. Not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
./node_modules/.bin/bun scripts/build.ts
echo "## reconcile"; ./node_modules/.bin/bun bench/reconcile.ts
echo "## sftp"; ./node_modules/.bin/bun bench/sftp.ts
echo "## backends"; ./node_modules/.bin/bun bench/backends.ts
echo "## ftp and webdav"; ./node_modules/.bin/bun bench/ftp-dav.ts
