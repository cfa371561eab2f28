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
# the real-browser tests time what a user sees, so they run one after another and keep the CPU whenever they
# want it; the unit and AppTest tests (two pytest-xdist workers, at the lowest priority) use what they leave idle
mkdir -p tests/out
nice -n 19 .venv/bin/python -m pytest -p no:cacheprovider -n 2 tests/unit tests/app >tests/out/unit.log 2>&1 &
unit=$!
set +e
.venv/bin/python -m pytest -p no:cacheprovider tests/browser
browser_rc=$?
wait "$unit"
unit_rc=$?
set -e
echo "---- unit and AppTest tests (tests/out/unit.log) ----"
cat tests/out/unit.log
exit $((browser_rc || unit_rc))
