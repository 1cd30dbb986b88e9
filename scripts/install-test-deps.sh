#!/usr/bin/env bash
# Installs what the integration tests drive, idempotently: real clients and servers from Debian.
# Safe to run again; it only calls apt-get when something is missing.
set -euo pipefail
need=()
check() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
check ssh openssh-client
check sftp openssh-client
check sshd openssh-server
[ -x /usr/lib/openssh/sftp-server ] || need+=(openssh-sftp-server)
check sshpass sshpass
check rclone rclone
check lftp lftp
check litmus litmus
check curl curl
# zip archives (the user API's streamed zip, the compress event action) are checked by unzip -t
check unzip unzip
check fail2ban-regex fail2ban
check expect expect
check vsftpd vsftpd
check haproxy haproxy
# the shared store's tests run a real PostgreSQL cluster of their own (initdb, pg_ctl, psql)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
check psql postgresql-client
# The man page and shell completions are rendered and syntax-checked by the real tools.
check man man-db
check zsh zsh
check fish fish
# Git sync tests: the git CLI pushes to a bare repository served by git http-backend.
check git git
[ -x /usr/lib/git-core/git-http-backend ] || need+=(git)
# OCI image layout checks (packaging/oci): an independent reader of the layout the build writes
check skopeo skopeo
check umoci umoci
# the packaging test runs the arm64 release binary under qemu-user with an arm64 glibc and libstdc++
check qemu-aarch64 qemu-user
[ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || need+=(libc6-arm64-cross)
[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || need+=(libstdc++6-arm64-cross)
# the web admin's browser tests drive Debian's chromium through playwright-core (no browser download);
# a font so that screenshots show text
check chromium chromium
# QR codes on the web pages are decoded back by an independent reader
check zbarimg zbar-tools
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
# the Linux packages: built with dpkg-deb and rpmbuild, checked with lintian, the unit with systemd-analyze
check lintian lintian
check rpmbuild rpm
check rpm2cpio rpm2cpio
check cpio cpio
check systemd-analyze systemd
# the unit is started by a real systemd booted in a container on an overlay of this machine
check systemd-nspawn systemd-container
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # --no-install-recommends keeps it small; policy-rc.d stops Debian from starting the daemons.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
