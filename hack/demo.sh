#!/usr/bin/env bash
# One-command demo: local testbed, the operator, and a Maintenance going through its phases.
# `make demo` runs it; `make demo-down` stops everything. Ports: base 26000 (tests use others).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARETAKER_TESTBED_PORT_BASE=${CARETAKER_TESTBED_PORT_BASE:-26000}
STATE=${CARETAKER_DEMO_DIR:-/dev/shm/caretaker-demo}
BIN=.venv/bin
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
get() { kubectl get maintenance -n storage-ops; }
phase() { kubectl get mnt fans-ct-node-a -n storage-ops -o jsonpath='{.status.phase}' 2>/dev/null; }
wait_phase() {
  local want=$1 deadline=$((SECONDS + ${2:-120}))
  until [[ $(phase) == "$want" ]]; do
    (( SECONDS < deadline )) || { echo "timed out waiting for $want"; get; exit 1; }
    sleep 0.5
  done
  get
}
ceph_() { ceph --conf "$STATE/ceph/ceph.conf" --keyring "$STATE/ceph/keyring" "$@"; }

command -v kubectl >/dev/null || (source hack/testbed/lib.sh && apt_install kubernetes-client)
say "Starting the local testbed (kube-apiserver, Ceph 1 mon/1 mgr/3 OSDs, Prometheus)"
hack/testbed/up.sh "$STATE" > "$STATE.env"
export KUBECONFIG=$STATE/kube/kubeconfig
kubectl apply -f crds/ >/dev/null
for ns in storage-ops caretaker-system; do kubectl create namespace "$ns" 2>/dev/null || true; done
while read -r osd host; do
  kubectl apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata: {name: $host, labels: {caretaker.dev/test-storage: "true"}}
NODE
done < "$STATE/ceph/hosts"
kubectl get nodes

say "Starting the operator (caretaker run), logs in $STATE/operator.log"
$BIN/caretaker run --namespace storage-ops --log-format json --liveness http://127.0.0.1:26080/healthz \
  --metrics-port 26095 --reconcile-interval 1 --lease-namespace caretaker-system \
  --ceph-conf "$STATE/ceph/ceph.conf" --ceph-keyring "$STATE/ceph/keyring" \
  --prometheus-url "$(cat "$STATE/prometheus/url")" \
  --pagerduty-events-url http://127.0.0.1:26077/pagerduty > "$STATE/operator.log" 2>&1 &
echo $! > "$STATE/operator.pid"
$BIN/python hack/demo_receiver.py 26077 "$STATE" > "$STATE/receiver.log" 2>&1 &
echo $! > "$STATE/receiver.pid"
until curl -fs http://127.0.0.1:26080/healthz >/dev/null; do sleep 0.2; done

say "A workload pod on ct-node-a, then: kubectl apply -f examples/maintenance-fans.yaml"
kubectl apply -n storage-ops -f - >/dev/null <<'POD'
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: 5b0c8d1e-0000-4000-8000-000000000001, controller: true}]
spec:
  nodeName: ct-node-a
  containers: [{name: web, image: example.invalid/web:1}]
POD
kubectl apply -f examples/maintenance-fans.yaml
wait_phase InMaintenance
say "Ceph: noout on exactly ct-node-a's OSD; the node is cordoned; the pod is gone"
ceph_ osd dump | awk '/^osd\.[0-9]+ /{print $1, $2, $3, $(NF-1)}'
kubectl get nodes
kubectl get pods -n storage-ops

say "The technician powers the server off: its OSD goes down but stays 'in' (noout)"
osd=$(awk '$2=="ct-node-a"{print $1}' "$STATE/ceph/hosts")
hack/testbed/ceph.sh kill-osd "$STATE" "$osd"
sleep 3; ceph_ osd tree | sed -n '1,12p'

say "Work done: kubectl annotate mnt fans-ct-node-a caretaker.dev/release=ct-node-a"
kubectl annotate -n storage-ops mnt fans-ct-node-a caretaker.dev/release=ct-node-a >/dev/null
wait_phase Restoring 30
say "The server is back (the OSD starts again); Caretaker waits for the OSD and clean PGs"
hack/testbed/ceph.sh start-osd "$STATE" "$osd"
wait_phase Completed 180
ceph_ health
kubectl get nodes
kubectl get events -n storage-ops --field-selector involvedObject.name=fans-ct-node-a \
  --sort-by=.metadata.resourceVersion -o custom-columns=REASON:.reason,MESSAGE:.message
say "HealthPolicy: kubectl apply -f examples/healthpolicy-demo.yaml (page, then automation)"
kubectl create secret generic pagerduty -n storage-ops --from-literal=routing-key=demo-key >/dev/null
kubectl apply -f examples/healthpolicy-demo.yaml
until [[ $(kubectl get hp osds -n storage-ops -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]; do sleep 0.5; done
kubectl get healthpolicy -n storage-ops
osd=$(awk '$2=="ct-node-b"{print $1}' "$STATE/ceph/hosts")
say "osd.$osd dies (no Maintenance covers it): Caretaker pages, then calls the automation"
hack/testbed/ceph.sh kill-osd "$STATE" "$osd"
deadline=$((SECONDS + 120))
until grep -q "PAGERDUTY resolve" "$STATE/receiver.log"; do
  (( SECONDS < deadline )) || { echo "no resolve within 120 s"; cat "$STATE/receiver.log"; exit 1; }
  sleep 0.5
done
cat "$STATE/receiver.log"
kubectl get maintenance,healthpolicy,remediation -n storage-ops
kubectl get remediation -n storage-ops -o custom-columns=RULE:.spec.rule,ACTION:.spec.action,RESULT:.status.result,DETECT:.status.timeToDetectSeconds,RECOVER:.status.timeToRecoverSeconds
ceph_ health
say "Done. 'make demo-down' stops everything."
