#!/usr/bin/env bash
# Shared setup: system packages (chromium, CJK fonts, poppler, postgresql, libreoffice) when missing, and a .venv with the requirements.
set -euo pipefail
cd "$(dirname "$0")"
need_apt=()
# postgresql: the records tests run against a real server; libreoffice: Word reports rendered to PDF in tests
for pkg in chromium fonts-noto-cjk poppler-utils postgresql libreoffice-writer-nogui; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "安装系统软件包：${need_apt[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
fi
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
REQ=${1:-requirements.txt}
stamp=".venv/.installed-$(sha256sum "$REQ" requirements.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$REQ"
  touch "$stamp"
fi
