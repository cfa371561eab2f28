#!/usr/bin/env bash
# Set up and run every check: ruff, unit + contract tests, AppTest, real-browser tests (Playwright + chromium).
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh requirements-dev.txt
.venv/bin/ruff check .
.venv/bin/ruff format --check .
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi
# the unit and AppTest tests on both cores (pytest-xdist), then the real-browser tests one after another: they
# share a server and time what a user sees, and two browsers at once on 2 cores made them flaky
.venv/bin/python -m pytest -p no:cacheprovider -n 2 tests/unit tests/app
exec .venv/bin/python -m pytest -p no:cacheprovider tests/browser
