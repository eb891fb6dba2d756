#!/usr/bin/env bash
# One command that sets up and runs the whole test suite on a fresh machine:
# system packages, a virtual environment with the project and its dev tools, lint and types,
# then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
bash scripts/system-deps.sh
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e '.[dev]'
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== services (PostgreSQL and Redis on 127.0.0.1 for tests/scaleout)"
services_env=$(bash scripts/services.sh start)
eval "$services_env"
trap 'bash scripts/services.sh stop "$DIS_SERVICES_DIR"' EXIT
echo "== pytest"
.venv/bin/python -m pytest --hypothesis-profile=repeatable "$@"
