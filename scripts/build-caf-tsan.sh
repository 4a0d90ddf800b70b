#!/usr/bin/env bash
# Builds libcaf_core from Debian's own source of the installed CAF (source package
# actor-framework, the one libcaf-dev is built from) with ThreadSanitizer, into DIR/lib.
#
# Why: ThreadSanitizer only sees the synchronisation of code it instrumented. Debian's
# libcaf_core.so hands every message from one actor to another through lock-free atomics
# compiled without instrumentation, so with it every message's contents would be reported as a
# race between sender and receiver. The TSan run of scripts/test.sh puts this build first on
# LD_LIBRARY_PATH instead (same version, same build configuration, same ABI).
#
# Needs a deb-src entry for Debian 12's main; adds one (hookwerk-deb-src.sources) if there is none.
# Usage: scripts/build-caf-tsan.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."

out="$(mkdir -p "$1" && cd "$1" && pwd)"
if [ -f "$out/lib/libcaf_core.so.0.17.6" ] && [ -f "$out/.complete" ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

version="$(dpkg-query -W -f='${source:Version}' libcaf-dev)"
package="$(dpkg-query -W -f='${source:Package}' libcaf-dev)"
upstream="${version%%-*}"
if [ "$upstream" != 0.17.6 ]; then
  echo "build-caf-tsan.sh: expected CAF 0.17.6, libcaf-dev is $version" >&2
  exit 2
fi

if ! grep -rqs '^Types: *deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src ' /etc/apt/sources.list; then
  printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' \
    'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
    "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/hookwerk-deb-src.sources >/dev/null
fi
command -v dpkg-source >/dev/null || DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends dpkg-dev
"${sudo_cmd[@]}" apt-get update -qq

src="$out/src"
rm -rf "$src" && mkdir -p "$src"
# Only the upstream tarball is used (Debian's packaging changes only how it is packaged); a
# mirror without the .debian.tar.xz makes apt-get report failure after fetching the rest.
(cd "$src" && apt-get source --download-only "$package=$version" >/dev/null 2>&1) || true
tarball="$src/${package}_${upstream}.orig.tar.gz"
dsc="$(ls "$src"/"${package}"_*.dsc 2>/dev/null | head -n 1)"
if [ ! -f "$tarball" ] || [ -z "$dsc" ]; then
  echo "build-caf-tsan.sh: could not download the source of $package $version" >&2
  exit 1
fi
expected="$(sed -n '/^Checksums-Sha256:/,/^[^ ]/p' "$dsc" | awk -v f="$(basename "$tarball")" '$3 == f {print $1}')"
actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
  echo "build-caf-tsan.sh: checksum of $(basename "$tarball") does not match $dsc" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$src"

cmake -S "$src/actor-framework-$upstream" -B "$out/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=g++ -DCMAKE_CXX_FLAGS="-fsanitize=thread" \
  -DCAF_NO_EXAMPLES=yes -DCAF_NO_UNIT_TESTS=yes -DCAF_NO_IO=yes -DCAF_NO_OPENSSL=yes \
  -DCAF_NO_OPENCL=yes -DCAF_NO_PYTHON=yes -DCAF_NO_TOOLS=yes -DCAF_NO_SUMMARY=yes >/dev/null
# The headers the project compiles against must describe this build.
generated="$(find "$out/build" -name build_config.hpp | head -n 1)"
if ! diff -q <(grep '^#' "$generated") <(grep '^#' /usr/include/caf/detail/build_config.hpp) >/dev/null; then
  echo "build-caf-tsan.sh: $generated differs from Debian's caf/detail/build_config.hpp" >&2
  exit 1
fi
cmake --build "$out/build" -j "${HOOKWERK_BUILD_JOBS:-2}" --target libcaf_core_shared
mkdir -p "$out/lib"
cp -P "$out/build"/lib/libcaf_core.so* "$out/lib/"
touch "$out/.complete"
