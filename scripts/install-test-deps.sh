#!/usr/bin/env bash
# Installs what the tests need on top of scripts/install-deps.sh: Node.js and npm
# (signature checks with `standardwebhooks`, the browser test's driver),
# Debian's Chromium (the browser test) and clang with its sanitizer and libFuzzer
# runtime (scripts/fuzz.sh), then the tests' npm packages from their lock files.
# Idempotent and non-interactive; run as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

packages=()
for p in chromium clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || packages+=("$p")
done
# A nodejs package that already ships npm (e.g. NodeSource's) conflicts with Debian's npm
# package, so each is installed only when its command is missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

if [ "${#packages[@]}" -gt 0 ]; then
  "${sudo_cmd[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${packages[@]}"
fi

# playwright-core only drives a browser; it never downloads one.
for dir in tests/system/js tests/browser; do
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
done
