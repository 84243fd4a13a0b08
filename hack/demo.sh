#!/usr/bin/env bash
# One-command demo: the local testbed (API server, three kubelets, Ceph with its OSDs as pods in
# Rook's layout, Prometheus), the operator installed with Helm as a pod, a Maintenance walked
# through its phases and a HealthPolicy handling a dead OSD.
# `make demo` runs it; `make demo-down` stops everything. Ports: base 26000 (tests use others).
# Any step that does not happen in time stops the demo with a non-zero status.
set -eEuo pipefail
cd "$(dirname "$0")/.."
export CARETAKER_TESTBED_PORT_BASE=${CARETAKER_TESTBED_PORT_BASE:-26000}
STATE=${CARETAKER_DEMO_DIR:-/dev/shm/caretaker-demo}
PORT_BASE=$CARETAKER_TESTBED_PORT_BASE
RECEIVER_PORT=$((PORT_BASE + 77))   # the demo's PagerDuty + automation stand-in
LIVENESS_PORT=$((PORT_BASE + 180))  # the operator pod's ports (hostNetwork: ports of this machine)
METRICS_PORT=$((PORT_BASE + 181))
OPERATOR_NODE=ct-node-c             # the story drains ct-node-a and kills an OSD on ct-node-b
TIMEOUT=${CARETAKER_DEMO_TIMEOUT:-300}
BIN=.venv/bin
HELM=$BIN/helm

if [[ -t 1 ]]; then BOLD=$'\033[1m' RED=$'\033[1;31m' PLAIN=$'\033[0m'; else BOLD="" RED="" PLAIN=""; fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
# show CMD...: prints the command as a user would type it, then runs it
show() { printf '$ %s\n' "$*"; "$@"; }
fail() {
  trap - ERR
  printf '\n%sDEMO FAILED: %s%s\n' "$RED" "$*" "$PLAIN" >&2
  if [[ -f ${KUBECONFIG:-/nonexistent} ]]; then
    kubectl get maintenance,healthpolicy,remediation -n storage-ops >&2 2>&1 || true
    kubectl get pods -A -o wide >&2 2>&1 || true
    echo "--- operator log (last 40 lines)" >&2
    kubectl -n caretaker-system logs deploy/caretaker --tail 40 >&2 2>&1 || true
  fi
  [[ -f $STATE/receiver.log ]] && { echo "--- receiver log" >&2; cat "$STATE/receiver.log" >&2; }
  echo "('make demo-down' stops what is left)" >&2
  exit 1
}
trap 'fail "command failed (line $LINENO): $BASH_COMMAND"' ERR
# wait_until DESCRIPTION TIMEOUT CMD...: polls CMD every 0.5 s; fails the demo on timeout
wait_until() {
  local desc=$1 timeout=$2 deadline=$((SECONDS + $2)); shift 2
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || fail "timed out after ${timeout}s waiting for $desc"
    sleep 0.5
  done
}
ceph() { command ceph --conf "$STATE/ceph/ceph.conf" --keyring "$STATE/ceph/keyring" --connect-timeout 15 "$@"; }
phase() { kubectl get mnt fans-ct-node-a -n storage-ops -o jsonpath='{.status.phase}' 2>/dev/null; }
phase_is() { [[ $(phase) == "$1" ]]; }
wait_phase() {
  local want=$1 deadline=$((SECONDS + TIMEOUT))
  until phase_is "$want"; do
    (( SECONDS < deadline )) || fail "timed out after ${TIMEOUT}s waiting for phase $want (phase: $(phase))"
    [[ $(phase) != Failed ]] || fail "the Maintenance failed"
    sleep 0.5
  done
  show kubectl get maintenance -n storage-ops
}
osd_of() { awk -v h="$1" '$2 == h {print $1}' "$STATE/ceph/hosts"; }
osd_up() {  # osd_up ID 1|0: osd.ID is (1) or is not (0) up in the OSD map
  ceph osd dump --format json | python3 -c '
import json, sys
osd, want = int(sys.argv[1]), int(sys.argv[2])
sys.exit(0 if [o["up"] for o in json.load(sys.stdin)["osds"] if o["osd"] == osd] == [want] else 1)
' "$1" "$2"
}
osd_dump() {
  echo "\$ ceph osd dump | awk '/^osd\\./{print \$1, \$2, \$3, \$(NF-1)}'"
  ceph osd dump | awk '/^osd\.[0-9]+ /{print $1, $2, $3, $(NF-1)}'
}
ready_nodes() { [[ $(kubectl get nodes --no-headers | awk '$2 == "Ready"' | wc -l) -eq 3 ]]; }
# osd_pods_running N: N OSD pods, all Running and ready, none being deleted
osd_pods_running() {
  [[ $(kubectl get pods -n rook-ceph -l app=rook-ceph-osd --no-headers | awk '$2 == "1/1" && $3 == "Running"' | wc -l) -eq $1 \
    && $(kubectl get pods -n rook-ceph -l app=rook-ceph-osd --no-headers | wc -l) -eq $1 ]]
}
health_ok() { [[ $(ceph health) == HEALTH_OK ]]; }
web_off_node_a() {  # 2 web pods Running and Ready, none on ct-node-a, none terminating
  local pods
  pods=$(kubectl get pods -n storage-ops -l app=web --no-headers -o custom-columns=NODE:.spec.nodeName,READY:.status.containerStatuses[0].ready,DEL:.metadata.deletionTimestamp)
  [[ $(awk '$1 != "ct-node-a" && $2 == "true" && $3 == "<none>"' <<< "$pods" | wc -l) -eq 2 \
    && $(wc -l <<< "$pods") -eq 2 ]]
}

command -v kubectl >/dev/null || (source hack/testbed/lib.sh && apt_install kubernetes-client)
[[ -x $HELM ]] || fail "no $HELM: run 'make venv'"
if [[ -e $STATE ]]; then
  say "A previous demo is still up in $STATE: stopping it first (make demo-down)"
  hack/demo-down.sh
fi

say "Starting the local testbed: kube-apiserver, 3 kubelets (own Docker engines), Ceph (3 mons, mgr, 3 OSD pods), Prometheus"
hack/testbed/up.sh "$STATE" > "$STATE.env"
export KUBECONFIG=$STATE/kube/kubeconfig
# kubectl finds its plugins on PATH: only kubectl-caretaker from the venv, nothing else of it
mkdir -p "$STATE/bin" && ln -sf "$PWD/$BIN/kubectl-caretaker" "$STATE/bin/kubectl-caretaker"
export PATH="$STATE/bin:$PATH"
wait_until "three Ready nodes" "$TIMEOUT" ready_nodes
wait_until "three Running OSD pods" "$TIMEOUT" osd_pods_running 3
show kubectl get nodes
show kubectl get pods -n rook-ceph -o wide
show ceph osd tree

say "The operator, as users install it: helm install caretaker charts/caretaker (image built from the Dockerfile)"
# The chart grants its namespaced permissions with Roles in the watched namespaces: create it first.
kubectl create namespace storage-ops >/dev/null
$BIN/python hack/demo_receiver.py "$RECEIVER_PORT" "$STATE" > "$STATE/receiver.log" 2>&1 &
echo $! > "$STATE/receiver.pid"
image=$(sed -n 's/^CARETAKER=//p' "$STATE/nodes/images.env")
[[ -n $image ]] || fail "no CARETAKER image in $STATE/nodes/images.env"
api_port=$(sed 's/.*://' "$STATE/kube/url")
# The testbed has no kube-proxy (no Service leads anywhere): host networking, and the API server
# at the address it really listens on. Ceph comes from Rook's discovery objects in rook-ceph.
cat > "$STATE/values.yaml" <<VALUES
image: {repository: "${image%:*}", tag: "${image##*:}", pullPolicy: Never}
hostNetwork: true
kubernetesApi: {host: 127.0.0.1, port: "$api_port"}
rook: {namespace: rook-ceph}
prometheus: {url: "$(cat "$STATE/prometheus/url")"}
liveness: {port: $LIVENESS_PORT}
metrics: {port: $METRICS_PORT}
watchNamespaces: [storage-ops]
reconcileInterval: 1
nodeSelector: {kubernetes.io/hostname: $OPERATOR_NODE}
notifications: {pagerdutyEventsUrl: "http://127.0.0.1:$RECEIVER_PORT/pagerduty"}
VALUES
show cat "$STATE/values.yaml"
show "$HELM" install caretaker charts/caretaker -n caretaker-system --create-namespace \
  -f "$STATE/values.yaml" --wait --timeout "${TIMEOUT}s"
show kubectl get pods -n caretaker-system -o wide
wait_until "the demo receiver" 30 curl -s -o /dev/null "http://127.0.0.1:$RECEIVER_PORT/"

say "A workload on ct-node-a: Deployment web (2 replicas, 3 s to stop) behind a PodDisruptionBudget (minAvailable 1)"
workload=$(sed -n 's/^WORKLOAD=//p' "$STATE/nodes/images.env")
echo "\$ kubectl apply -n storage-ops -f -    # Deployment web ($workload), PodDisruptionBudget web"
kubectl apply -n storage-ops -f - <<WORKLOAD
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 33
      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              preference:
                matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [ct-node-a]}]
      containers:
        - name: main
          image: $workload
          imagePullPolicy: Never
          env: [{name: STOP_SECONDS, value: "3"}]
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
WORKLOAD
kubectl rollout status deployment/web -n storage-ops --timeout "${TIMEOUT}s" >/dev/null
wait_until "the budget of web to allow one disruption" "$TIMEOUT" \
  bash -c '[[ $(kubectl get pdb web -n storage-ops -o jsonpath="{.status.disruptionsAllowed}") == 1 ]]'
show kubectl get pods -n storage-ops -o wide

say "ct-node-a's fans fail: kubectl apply -f examples/maintenance-fans.yaml"
show kubectl apply -f examples/maintenance-fans.yaml
wait_phase InMaintenance
osd=$(osd_of ct-node-a)
wait_until "web running on other nodes" "$TIMEOUT" web_off_node_a
wait_until "osd.$osd down (its pod was evicted)" "$TIMEOUT" osd_up "$osd" 0
say "Drained: web moved off ct-node-a (one pod at a time, as its budget allows), osd.$osd's pod is Pending on the cordoned node"
show kubectl get pods -n storage-ops -o wide
show kubectl get pods -n rook-ceph -o wide
say "Ceph: osd.$osd is down but stays 'in' (noout on exactly ct-node-a's OSD): no data moves"
osd_dump
show ceph health
show kubectl get nodes

say "The technician is done: kubectl caretaker release (the annotation caretaker.dev/release=ct-node-a)"
show kubectl caretaker release -n storage-ops fans-ct-node-a ct-node-a
say "Caretaker uncordons the node, waits for osd.$osd and clean PGs, lifts noout"
wait_phase Completed
wait_until "three Running OSD pods" "$TIMEOUT" osd_pods_running 3
wait_until "HEALTH_OK" "$TIMEOUT" health_ok
show kubectl get pods -n rook-ceph -o wide
osd_dump
show ceph health
show kubectl get nodes
show kubectl get events -n storage-ops --field-selector involvedObject.name=fans-ct-node-a \
  --sort-by=.metadata.resourceVersion -o custom-columns=REASON:.reason,MESSAGE:.message

say "HealthPolicy: kubectl apply -f examples/healthpolicy-demo.yaml (page, then automation)"
show kubectl create secret generic pagerduty -n storage-ops --from-literal=routing-key=demo-key
show kubectl apply -f examples/healthpolicy-demo.yaml
wait_until "the HealthPolicy to be Ready" "$TIMEOUT" bash -c \
  "[[ \$(kubectl get hp osds -n storage-ops -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}') == True ]]"
show kubectl get healthpolicy -n storage-ops
osd=$(osd_of ct-node-b)
say "osd.$osd on ct-node-b dies (no Maintenance covers it): Caretaker pages, then calls the automation"
show hack/testbed/ceph.sh kill-osd "$STATE" "$osd"
wait_until "the page to be resolved" "$TIMEOUT" grep -q "PAGERDUTY resolve" "$STATE/receiver.log"
show cat "$STATE/receiver.log"
wait_until "HEALTH_OK" "$TIMEOUT" health_ok
show kubectl get maintenance,healthpolicy,remediation -n storage-ops
show kubectl get remediation -n storage-ops --sort-by=.metadata.creationTimestamp -o custom-columns=RULE:.spec.rule,ACTION:.spec.action,RESULT:.status.result,DETECT:.status.timeToDetectSeconds,RECOVER:.status.timeToRecoverSeconds
show ceph health
say "Done. 'make demo-down' stops everything."
