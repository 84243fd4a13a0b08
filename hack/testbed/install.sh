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
# Debian's packages may have started services (as their own users); none may hold our ports.
# The testbed's own daemons run as the invoking user and are left alone.
for svc in etcd:etcd prometheus:prometheus prometheus-alertmanager:prometheus; do
  name=${svc%%:*} user=${svc##*:}
  id "$user" >/dev/null 2>&1 && pkill -u "$user" -x "$name" 2>/dev/null || true
done
"$TESTBED_DIR/kube-apiserver-build.sh"
log "install complete"
