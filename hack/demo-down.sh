#!/usr/bin/env bash
# Stops what hack/demo.sh started: the Helm release (best effort: the testbed goes anyway), the
# demo receiver, then the whole testbed (kubelets, their Docker engines and bridges, Ceph, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARETAKER_TESTBED_PORT_BASE=${CARETAKER_TESTBED_PORT_BASE:-26000}
STATE=${CARETAKER_DEMO_DIR:-/dev/shm/caretaker-demo}
if [[ -f $STATE/kube/kubeconfig && -x .venv/bin/helm ]]; then
  .venv/bin/helm --kubeconfig "$STATE/kube/kubeconfig" uninstall caretaker -n caretaker-system \
    --wait --timeout 90s 2>/dev/null || echo "helm uninstall failed (ignored: the testbed goes anyway)"
fi
if [[ -f $STATE/receiver.pid ]]; then
  pid=$(cat "$STATE/receiver.pid")
  # only if that PID is still the receiver (PIDs get reused)
  if grep -qa demo_receiver.py "/proc/$pid/cmdline" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
fi
hack/testbed/down.sh "$STATE"
rm -f "$STATE.env"
