#!/usr/bin/env bash
# Stops everything hack/testbed/up.sh started (reverse order) and removes its state.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STATE=${1:-/dev/shm/caretaker-testbed}
for component in alertmanager prometheus ceph nodes kube; do
  "$TESTBED_DIR/$component.sh" stop "$STATE" || true
done
rm -rf "$STATE"
log "testbed down"
