#!/usr/bin/env bash
# Screenshots of every room with the demo, on a virtual X screen (needs: apt-get install xvfb libxcb-cursor0).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-screenshots}
export HOME=$(mktemp -d)  # fresh settings and demo copy, like a first launch
Xvfb :77 -screen 0 1500x960x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb' EXIT
sleep 1
DISPLAY=:77 QT_QPA_PLATFORM=xcb .venv/bin/python tools/screenshots.py "$out"
