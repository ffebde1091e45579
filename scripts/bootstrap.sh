# Sourced by demo.sh and test.sh: a virtualenv in .venv with staffsync installed.
# Needs only Python 3.11+ and network access to PyPI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -qq --disable-pip-version-check --upgrade pip
SPEC="."
if [ -n "${EXTRAS:-}" ]; then SPEC=".[${EXTRAS}]"; fi
.venv/bin/python -m pip install -qq --disable-pip-version-check -e "$SPEC"
