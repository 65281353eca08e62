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

# Python 3.12: LeRobot 0.6 needs >= 3.12 and the ROS 2 core wheels are built for cp312 (the
# Python of Jazzy and Kilted on Ubuntu 24.04). $PYTHON wins; else a python3.12 or python3 on
# PATH that really is 3.12 (a pyenv shim for a version not selected is not); else pyenv's.
find_python() {
  local c
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  for c in python3.12 python3; do
    if "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; then
      command -v "$c"; return
    fi
  done
  for c in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.*/bin/python3.12 /usr/bin/python3.12; do
    if [ -x "$c" ]; then echo "$c"; return; fi
  done
  echo "[setup] no Python 3.12 found (tried \$PYTHON, python3.12, python3, pyenv's 3.12.*," >&2
  echo "        /usr/bin/python3.12); install one (apt install python3.12-venv, or" >&2
  echo "        pyenv install 3.12) or set PYTHON=/path/to/python3.12" >&2
  exit 1
}
python="$(find_python)"
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
  echo "[setup] $python is not Python 3.12 (PYTHON=$python); dagger_ros needs 3.12" >&2; exit 1
fi
req_hash="$( (cat requirements.txt; "$python" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-12)"
venv="${DAGGER_ROS_VENV:-$HOME/.cache/dagger_ros/venv-$req_hash}"

setup() {
  if [ ! -f "$venv/.complete" ]; then
    echo "[setup] creating the environment in $venv (first time: ~3 min, ~9 GB)" >&2
    local start=$SECONDS
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    # lerobot 0.6 pins torch<2.12, so pip takes torch 2.11 (a CUDA build that also runs on CPU)
    "$venv/bin/python" -m pip install -q -r requirements.txt
    # lerobot[dataset] brings torchcodec, which loads only beside a system FFmpeg 4-7 (absent
    # on a fresh machine: every dataset open printed its traceback); without it LeRobot
    # decodes video with PyAV, which carries its own FFmpeg
    "$venv/bin/python" -m pip uninstall -q -y torchcodec
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
