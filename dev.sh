#!/usr/bin/env bash
# One entry point for a fresh machine: set up (only what is missing) and run.
#   ./dev.sh sim  [args]   the simulated DAgger loop (dagger-ros sim)
#   ./dev.sh test [args]   lint + unit + integration tests + colcon build check
#   ./dev.sh run  [args]   any dagger-ros subcommand, e.g. ./dev.sh run run --config ...
#   ./dev.sh shell         a shell inside the environment
# The environment lives outside the checkout (default ~/.cache/dagger_ros/venv-<hash of
# requirements.txt>), so fresh clones on the same machine reuse it; DAGGER_ROS_VENV overrides.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

python="${PYTHON:-python3}"
req_hash="$( (cat requirements.txt; "$python" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-12)"
venv="${DAGGER_ROS_VENV:-$HOME/.cache/dagger_ros/venv-$req_hash}"

setup() {
  if [ ! -f "$venv/.complete" ]; then
    echo "[setup] creating the environment in $venv (first time: ~3 min, ~9 GB)" >&2
    local start=$SECONDS
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    # lerobot pins torch<2.11, so pip takes torch 2.10 (a CUDA build that also runs on CPU)
    "$venv/bin/python" -m pip install -q -r requirements.txt
    touch "$venv/.complete"
    echo "[setup] environment ready in $((SECONDS - start)) s ($(du -sh "$venv" | cut -f1))" >&2
  fi
  # the package itself, editable, from this checkout (re-done when the checkout moves or
  # its entry points change)
  local stamp; stamp="$here $(cat "$here/setup.py" "$here/setup.cfg" | sha256sum | cut -c1-12)"
  if [ "$(cat "$venv/.checkout" 2>/dev/null)" != "$stamp" ]; then
    local log; log="$(mktemp)"
    if ! "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$here" \
        >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"; echo "[setup] installing dagger_ros failed" >&2; exit 1
    fi
    rm -f "$log"
    echo "$stamp" > "$venv/.checkout"
  fi
  export PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv"
  export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
  export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  sim)   setup; exec dagger-ros sim "$@" ;;
  test)  setup; exec "$here/scripts/test.sh" "$@" ;;
  run)   setup; exec dagger-ros "$@" ;;
  shell) setup; exec "${SHELL:-bash}" ;;
  setup) setup ;;
  *) echo "usage: ./dev.sh {sim|test|run|shell|setup} [args]" >&2; exit 2 ;;
esac
