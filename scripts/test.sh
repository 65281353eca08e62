#!/usr/bin/env bash
# The test suite, run inside the environment by ./dev.sh test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "== ruff (lint)"
ruff check dagger_ros test bench launch scripts setup.py
echo "== pytest (unit, integration, launch and colcon checks)"
exec python -m pytest -q "$@" test
