#!/usr/bin/env bash
# Starts the whole local testbed (kube-apiserver + etcd, kubelets and controllers, Ceph with its
# OSDs as pods, Prometheus, Alertmanager) in
# STATE_DIR (default /dev/shm/caretaker-testbed) and prints how to reach it. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STATE=${1:-/dev/shm/caretaker-testbed}
mkdir -p "$STATE"
start=$SECONDS
for component in kube nodes ceph prometheus alertmanager; do
  "$TESTBED_DIR/$component.sh" start "$STATE"
done
log "testbed up in $((SECONDS - start))s; state in $STATE"
cat <<ENV
export CARETAKER_TESTBED_DIR=$STATE
export KUBECONFIG=$STATE/kube/kubeconfig
export CARETAKER_CEPH_CONF=$STATE/ceph/ceph.conf
export CARETAKER_CEPH_KEYRING=$STATE/ceph/keyring
export CARETAKER_PROMETHEUS_URL=$(cat "$STATE/prometheus/url")
ENV
