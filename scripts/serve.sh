#!/usr/bin/env bash
# Installs the dependencies, builds the server and runs `hookwerk serve` with its
# defaults (127.0.0.1:8080, data in ./hookwerk-data). Extra arguments go to serve.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh hookwerk >&2  # stdout carries only the server's "listening on" line
exec ./build/hookwerk serve "$@"
