#!/usr/bin/env bash
# Install staffsync and run the demo: FIS and SCView on loopback, a sample district synced.
set -euo pipefail
EXTRAS="" source "$(dirname "$0")/bootstrap.sh"
exec .venv/bin/staffsync demo "$@"
