#!/usr/bin/env bash
# Installs everything the testbed needs, from Debian's archive only, then builds
# kube-apiserver (cached under $CARETAKER_CACHE). Idempotent: a second run takes seconds.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
  etcd-server golang-1.19-go dpkg-dev
  ceph-mon ceph-mgr ceph-osd ceph-common python3-rados
  prometheus prometheus-alertmanager
  openssl curl procps
)
apt_install "${PACKAGES[@]}"
# Debian's packages may have registered services; none may run on this machine's ports.
for svc in etcd prometheus prometheus-alertmanager prometheus-node-exporter; do
  pkill -x "$svc" 2>/dev/null || true
done
"$TESTBED_DIR/kube-apiserver-build.sh"
log "install complete"
