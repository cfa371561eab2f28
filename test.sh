#!/usr/bin/env bash
# Set up and run every check: ruff, unit + contract tests, AppTest, real-browser tests (Playwright + chromium).
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh requirements-dev.txt
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
