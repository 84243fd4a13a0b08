#!/usr/bin/env bash
# Stops what hack/demo.sh started.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARETAKER_TESTBED_PORT_BASE=${CARETAKER_TESTBED_PORT_BASE:-26000}
STATE=${CARETAKER_DEMO_DIR:-/dev/shm/caretaker-demo}
if [[ -f $STATE/operator.pid ]]; then kill "$(cat "$STATE/operator.pid")" 2>/dev/null || true; fi
hack/testbed/down.sh "$STATE"
rm -f "$STATE.env"
