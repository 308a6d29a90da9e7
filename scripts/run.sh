#!/usr/bin/env bash
# Install the project into .venv, then run the bot (sim mode by default: no keys, no internet).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python bot.py "$@"
