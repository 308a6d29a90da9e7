#!/usr/bin/env bash
# Install the project and test tools into .venv, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
