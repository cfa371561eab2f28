#!/usr/bin/env bash
# Set up and run the dashboard on the shipped sample data: http://127.0.0.1:8501
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh requirements.txt
exec .venv/bin/python -m streamlit run app.py --server.port "${PORT:-8501}" "$@"
