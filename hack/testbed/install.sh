#!/usr/bin/env bash
# Installs everything the testbed needs, from Debian's archive only, then builds the Kubernetes
# binaries (cached under $CARETAKER_CACHE). Idempotent: a second run takes seconds. The images
# are built by nodes.sh when the node side starts (cached by the hash of their inputs).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
  etcd-server golang-1.19-go dpkg-dev gcc libc6-dev
  ceph-mon ceph-mgr ceph-osd ceph-common python3-rados
  prometheus prometheus-alertmanager
  docker.io containerd runc debootstrap jq iproute2
  openssl curl procps
)
apt_install "${PACKAGES[@]}"
# kubectl for the scripts (any recent one; Debian's 1.20 client only when there is none)
command -v kubectl >/dev/null || apt_install kubernetes-client
# Debian's packages may have started services (as their own users); none may hold our ports.
# The testbed's own daemons run as the invoking user and are left alone.
stop_debian_service prometheus
stop_debian_service prometheus-alertmanager
if id etcd >/dev/null 2>&1; then pkill -u etcd -x etcd 2>/dev/null || true; fi
"$TESTBED_DIR/kube-build.sh" >/dev/null
log "install complete"
