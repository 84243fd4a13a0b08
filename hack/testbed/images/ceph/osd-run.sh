#!/bin/bash
# Entrypoint of the testbed's OSD pods: runs `ceph-osd -f ARGS` as a child, so that a test can
# crash the OSD while its pod stays Running, as a hung or failed disk does on a Rook node:
# `ceph.sh kill-osd` creates /tmp/osd-down in this container and kills ceph-osd, which then stays
# down until the file goes (`ceph.sh start-osd`) or the pod is replaced (a restart). A ceph-osd
# that exits on its own is started again after 1 s. SIGTERM (eviction, deletion) stops ceph-osd
# and ends the container.
child=0
on_term() {
  if ((child)); then
    kill -TERM "$child" 2>/dev/null
    wait "$child"
  fi
  exit 0
}
trap on_term TERM INT
while true; do
  while [[ -e /tmp/osd-down ]]; do
    sleep 0.2 &
    wait $!
  done
  ceph-osd -f "$@" &
  child=$!
  wait "$child"
  echo "ceph-osd exited with status $?"
  child=0
  sleep 1 &
  wait $!
done
