#!/usr/bin/env bash
# Installs the peers the benchmarks compare against and the tests do not need, idempotently:
# Apache httpd with mod_dav_fs (bench/ftp-dav.ts). Safe to run again; it only calls apt-get when
# something is missing.
set -euo pipefail
need=()
[ -x /usr/sbin/apache2 ] && [ -f /usr/lib/apache2/modules/mod_dav_fs.so ] || need+=(apache2)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d stops Debian from starting the system-wide httpd: the bench runs its own.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
