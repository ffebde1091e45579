#!/usr/bin/env bash
# Install everything the tests need (Debian's chromium too, when run as root),
# then run the linters and every test, on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "note: Debian's chromium is missing (apt-get install chromium); browser tests need it" >&2
  fi
fi

# PostgreSQL is started with the machine; start it again if it stopped.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi

EXTRAS=dev source scripts/bootstrap.sh
.venv/bin/ruff check src tests bench
.venv/bin/mypy
exec .venv/bin/pytest -n 2 --dist loadgroup "$@"
