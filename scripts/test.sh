#!/usr/bin/env bash
# Install the project and test tools into .venv, run the format/lint/type checks, then the whole
# test suite. Arguments go to pytest (with arguments, the checks are skipped: a focused run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
if [ $# -eq 0 ]; then
  scripts/lint.sh
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
