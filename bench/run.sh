#!/usr/bin/env bash
# npm run bench: every side-by-side benchmark, on the compiled binary. Not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
bash scripts/install-bench-deps.sh
./node_modules/.bin/bun scripts/build.ts
echo "## reconcile"; ./node_modules/.bin/bun bench/reconcile.ts
echo "## groups"; ./node_modules/.bin/bun bench/groups.ts
echo "## sftp"; ./node_modules/.bin/bun bench/sftp.ts --servers bun,sshd,rclone --size-mb 200 --ciphers default,aes128-gcm@openssh.com
echo "## transfer peak memory, a server up for 12 s and one that starts at once"; ./node_modules/.bin/bun bench/peak.ts --settle 12; ./node_modules/.bin/bun bench/peak.ts
echo "## backends, storage on loopback"; ./node_modules/.bin/bun bench/backends.ts --rss-sizes 1024
echo "## backends, storage behind a 50 MB/s link with 10 ms round trips"; ./node_modules/.bin/bun bench/backends.ts --only s3,gcs,azblob,sftp --link 50,10
echo "## ftp and webdav"; ./node_modules/.bin/bun bench/ftp-dav.ts
echo "## cluster: 1 and 3 replicas, LMDB and PostgreSQL"; ./node_modules/.bin/bun bench/cluster.ts
