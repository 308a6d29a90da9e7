#!/usr/bin/env bash
# Format, lint and type checks (zero findings required): ruff format, ruff check, mypy.
# Configuration: pyproject.toml. Run after scripts/setup.sh dev.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff format --check --quiet .
.venv/bin/ruff check --quiet .
.venv/bin/mypy --no-error-summary
echo "lint: ruff format, ruff check and mypy clean"
