#!/usr/bin/env bash
# Installs every Debian 12 package Hookwerk needs to build, run and test.
# Idempotent and non-interactive; run as root or with sudo available.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config ccache
  libcaf-dev libboost-dev libboost-system-dev libsimdjson-dev librocksdb-dev
  libgtest-dev libgmock-dev libssl-dev liburiparser-dev libc-ares-dev libjemalloc-dev
  ca-certificates openssl curl
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  "${sudo_cmd[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

