#!/usr/bin/env bash
# Run the checks (ruff, format, mypy: scripts/check.sh) and the whole test suite
# (installs what the tests need first). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
bash scripts/check.sh
exec .venv/bin/python -m pytest "$@"
