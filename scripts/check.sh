#!/usr/bin/env bash
# The checks that keep the design (issue 11), run by scripts/test.sh before the tests:
# ruff lint (pycodestyle, pyflakes, import order, bugbear, pyupgrade, complexity <= 15),
# ruff format (one style), mypy on the library. The import-layer contract is a test
# (tests/test_layers.py). Needs the test extra (bash scripts/setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
files=(ridermap cli.py setup.py tests benchmarks)
.venv/bin/ruff check "${files[@]}"
.venv/bin/ruff format --check "${files[@]}"
.venv/bin/mypy
echo "check: ruff, format and mypy clean" >&2
