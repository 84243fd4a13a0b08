#!/usr/bin/env bash
# Stops what hack/demo.sh started.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARETAKER_TESTBED_PORT_BASE=${CARETAKER_TESTBED_PORT_BASE:-26000}
STATE=${CARETAKER_DEMO_DIR:-/dev/shm/caretaker-demo}
for pidfile in "$STATE/operator.pid" "$STATE/receiver.pid"; do
  if [[ -f $pidfile ]]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
done
hack/testbed/down.sh "$STATE"
rm -f "$STATE.env"
