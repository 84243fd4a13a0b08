#!/usr/bin/env bash
# The node side of the testbed: a Docker engine and a kubelet per node, the controller manager
# and the scheduler, all talking to the API server that kube.sh started in the same STATE_DIR.
#
#   nodes.sh start STATE_DIR              start everything (idempotent); images built or reused
#   nodes.sh stop STATE_DIR               stop everything; no container, bridge, mount or process left
#   nodes.sh stop-node STATE_DIR NODE     stop one node's kubelet and its containers (power off)
#   nodes.sh start-node STATE_DIR NODE    start it again (power on); returns once it is Ready
#   nodes.sh docker STATE_DIR NODE ARGS   docker CLI of NODE's engine
#
# Nodes: CARETAKER_CEPH_HOSTS (default "ct-node-a ct-node-b ct-node-c"), the names Ceph's OSDs use
# as CRUSH hosts. Each node has its own Docker engine (two kubelets on one engine remove each
# other's containers), bridge, data root (kept in $CARETAKER_CACHE so images survive), kubelet
# root and dockershim root. Bridges are named ct<base><i>; node i's address is the bridge's own,
# 172.(16+base/1000%16).(100+i).1/24 (kubelet refuses a loopback node IP); its kubelet listens
# there on base+100+10i (healthz on 127.0.0.1, +1). Controller manager base+157, scheduler
# base+159 (CARETAKER_TESTBED_PORT_BASE, default 20000). Recipe and traps: docs/testbed.md.
# Writes STATE_DIR/nodes/{images.env,<node>/*.log,...}.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ACTION=${1:-}
STATE=${2:-}
USAGE="usage: $0 {start|stop} STATE_DIR | {stop-node|start-node} STATE_DIR NODE | docker STATE_DIR NODE ARGS..."
[[ -n $ACTION && -n $STATE ]] || die "$USAGE"
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)

PORT_BASE=${CARETAKER_TESTBED_PORT_BASE:-20000}
read -r -a NODES <<< "${CARETAKER_CEPH_HOSTS:-ct-node-a ct-node-b ct-node-c}"
KDIR=$STATE/kube
NDIR=$STATE/nodes
RUN_ROOT=/run/ct-$PORT_BASE                       # short: unix socket paths are limited
DATA_ROOT=$CARETAKER_CACHE/docker/$PORT_BASE      # images survive a testbed restart
KUBE_BIN=$CARETAKER_CACHE/kubernetes-v1.20.2
SUBNET_PREFIX=172.$((16 + PORT_BASE / 1000 % 16))
CM_PORT=$((PORT_BASE + 157))
SCHED_PORT=$((PORT_BASE + 159))

node_index() {
  local i
  for i in "${!NODES[@]}"; do [[ ${NODES[i]} == "$1" ]] && { echo "$i"; return 0; }; done
  die "unknown node $1 (nodes: ${NODES[*]})"
}
bridge_name() { echo "ct$PORT_BASE$(node_index "$1")"; }
# node_ip NODE: the node's address, on its own bridge (kubelet refuses a loopback node IP)
node_ip() { echo "$SUBNET_PREFIX.$((100 + $(node_index "$1"))).1"; }
socket_of() { echo "$RUN_ROOT/$1/docker.sock"; }
docker_of() { local node=$1; shift; docker -H "unix://$(socket_of "$node")" "$@"; }
kubectl_admin() { kubectl --kubeconfig "$KDIR/kubeconfig" "$@"; }

# --- Docker engines -----------------------------------------------------------------------------

make_bridge() {
  local br=$1 cidr=$2
  ip link show "$br" >/dev/null 2>&1 || ip link add "$br" type bridge
  ip addr show dev "$br" | grep -q "inet $cidr" || ip addr add "$cidr" dev "$br"
  ip link set "$br" up
}

start_engine() {
  local node=$1 dir sock
  dir=$RUN_ROOT/$node
  sock=$(socket_of "$node")
  mkdir -p "$dir" "$DATA_ROOT/$node" "$NDIR/$node"
  if [[ -f $dir/docker.pid ]] && running "$(cat "$dir/docker.pid")" && [[ -S $sock ]]; then
    return 0
  fi
  make_bridge "$(bridge_name "$node")" "$(node_ip "$node")/24"
  echo '{}' > "$dir/daemon.json"
  setsid dockerd --config-file "$dir/daemon.json" -H "unix://$sock" \
    --data-root "$DATA_ROOT/$node" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
    --bridge "$(bridge_name "$node")" --iptables=false --ip-masq=false --ip-forward=false \
    --exec-opt native.cgroupdriver=cgroupfs --storage-driver overlay2 --log-level warn \
    --add-runtime "clamped=$TESTBED_DIR/runc-clamp" --default-runtime clamped \
    </dev/null >>"$NDIR/$node/dockerd.log" 2>&1 9>&- &
  wait_for "dockerd of $node" 60 "$NDIR/$node/dockerd.log" -- docker -H "unix://$sock" info \
    || die "dockerd of $node did not start"
  # a fresh API server knows no pods: containers of an earlier run are leftovers
  local leftovers
  leftovers=$(docker_of "$node" ps -aq)
  [[ -z $leftovers ]] || docker_of "$node" rm -f $leftovers >/dev/null
}

stop_engine() {
  local node=$1 dir=$RUN_ROOT/$1 ids
  if [[ -S $dir/docker.sock ]] && docker_of "$node" info >/dev/null 2>&1; then
    ids=$(docker_of "$node" ps -aq)
    [[ -z $ids ]] || docker_of "$node" rm -f $ids >/dev/null 2>&1 || true
  fi
  stop_pidfile "$dir/docker.pid"
  # the engine's own containerd and shims, should any outlive it
  pkill -KILL -f "$dir/exec/" 2>/dev/null || true
  unmount_under "$dir"
  ip link del "$(bridge_name "$node")" 2>/dev/null || true
  rm -rf "$dir"
}

# unmount_under DIR: every mount point at or below DIR, deepest first (kubelet's secret tmpfs,
# shm..., and its root directory, which it bind-mounts onto itself).
unmount_under() {
  local mounts
  mounts=$(awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r)
  [[ -z $mounts ]] || xargs -r -n1 umount -l <<< "$mounts" 2>/dev/null || true
}

# --- images -------------------------------------------------------------------------------------

build_images() {
  local builder=${NODES[0]} node
  "$TESTBED_DIR/images.sh" build "$(socket_of "$builder")" > "$NDIR/images.env.tmp" \
    || die "image build failed"
  mv "$NDIR/images.env.tmp" "$NDIR/images.env"
  local pids=() pid
  for node in "${NODES[@]:1}"; do
    "$TESTBED_DIR/images.sh" copy "$(socket_of "$builder")" "$(socket_of "$node")" "$NDIR/images.env" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || die "loading images into a node failed"; done
}

# --- control plane: credentials, controller manager, scheduler ---------------------------------

# kubeconfig_for NAME: a system component's kubeconfig (made by kube.sh; group system:masters).
kubeconfig_for() {
  [[ -f $KDIR/components/$1/kubeconfig ]] || die "kube.sh made no credentials for $1"
  echo "$KDIR/components/$1/kubeconfig"
}

start_controllers() {
  local kc_cm kc_sched
  kc_cm=$(kubeconfig_for kube-controller-manager)
  kc_sched=$(kubeconfig_for kube-scheduler)
  if ! [[ -f $NDIR/kube-controller-manager.pid ]] || ! running "$(cat "$NDIR/kube-controller-manager.pid")"; then
    setsid "$KUBE_BIN/kube-controller-manager" --kubeconfig="$kc_cm" \
      --authentication-kubeconfig="$kc_cm" --authorization-kubeconfig="$kc_cm" \
      --bind-address=127.0.0.1 --secure-port="$CM_PORT" --port=0 --leader-elect=false \
      --service-account-private-key-file="$KDIR/sa.key" --root-ca-file="$KDIR/ca.crt" \
      --use-service-account-credentials=false --controllers='*,-nodeipam' \
      --node-monitor-period=2s --node-monitor-grace-period=16s \
      --cert-dir="$NDIR/kcm-certs" --v=1 \
      </dev/null >"$NDIR/kube-controller-manager.log" 2>&1 9>&- &
    echo $! > "$NDIR/kube-controller-manager.pid"
  fi
  if ! [[ -f $NDIR/kube-scheduler.pid ]] || ! running "$(cat "$NDIR/kube-scheduler.pid")"; then
    setsid "$KUBE_BIN/kube-scheduler" --kubeconfig="$kc_sched" \
      --authentication-kubeconfig="$kc_sched" --authorization-kubeconfig="$kc_sched" \
      --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --port=0 --leader-elect=false \
      --cert-dir="$NDIR/scheduler-certs" --v=1 \
      </dev/null >"$NDIR/kube-scheduler.log" 2>&1 9>&- &
    echo $! > "$NDIR/kube-scheduler.pid"
  fi
  wait_for kube-controller-manager 60 "$NDIR/kube-controller-manager.log" -- \
    curl -skf "https://127.0.0.1:$CM_PORT/healthz" || die "kube-controller-manager not healthy"
  wait_for kube-scheduler 60 "$NDIR/kube-scheduler.log" -- \
    curl -skf "https://127.0.0.1:$SCHED_PORT/healthz" || die "kube-scheduler not healthy"
}

# --- kubelets -----------------------------------------------------------------------------------

write_kubelet_config() {
  local node=$1 i port
  i=$(node_index "$node")
  port=$((PORT_BASE + 100 + 10 * i))
  cat > "$NDIR/$node/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $(node_ip "$node")
port: $port
healthzBindAddress: 127.0.0.1
healthzPort: $((port + 1))
readOnlyPort: 0
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 2s
syncFrequency: 10s
serializeImagePulls: false
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
EOF
  echo $((port + 1)) > "$NDIR/$node/healthz-port"
}

start_kubelet() {
  local node=$1 kc dir=$NDIR/$node
  if [[ -f $dir/kubelet.pid ]] && running "$(cat "$dir/kubelet.pid")"; then return 0; fi
  start_engine "$node"
  kc=$(kubeconfig_for "system:node:$node")
  write_kubelet_config "$node"
  mkdir -p "$dir/kubelet" "$dir/dockershim"
  setsid "$KUBE_BIN/kubelet" --kubeconfig="$kc" --config="$dir/kubelet.yaml" \
    --hostname-override="$node" --node-ip="$(node_ip "$node")" --root-dir="$dir/kubelet" \
    --container-runtime=docker --docker-endpoint="unix://$(socket_of "$node")" \
    --experimental-dockershim-root-directory="$dir/dockershim" \
    --container-runtime-endpoint="unix://$RUN_ROOT/$node/dockershim.sock" \
    --pod-infra-container-image=k8s.gcr.io/pause:3.2 --v=1 \
    --feature-gates=DevicePlugins=false \
    </dev/null >>"$dir/kubelet.log" 2>&1 9>&- &
  echo $! > "$dir/kubelet.pid"
}

# node_ready NODE SINCE: the kubelet answers, and reported the node Ready at or after SINCE
# (an RFC 3339 UTC time: a Node object of an earlier run may still say Ready).
node_ready() {
  local ready
  curl -sf --max-time 2 "http://127.0.0.1:$(cat "$NDIR/$1/healthz-port")/healthz" >/dev/null || return 1
  ready=$(kubectl_admin get node "$1" \
    -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.status} {.lastHeartbeatTime}{end}' 2>/dev/null)
  [[ ${ready%% *} == True && ! ${ready#* } < $2 ]]
}

wait_node_ready() {
  wait_for "node $1 Ready" 90 "$NDIR/$1/kubelet.log" -- node_ready "$1" "$2" || die "node $1 not Ready"
}

stop_kubelet() {
  local node=$1 dir=$NDIR/$1
  stop_pidfile "$dir/kubelet.pid"
  unmount_under "$dir/kubelet"
}

# --- commands -----------------------------------------------------------------------------------

cmd_start() {
  local t0=$SECONDS node
  [[ -f $KDIR/url ]] || die "start the API server first (kube.sh start $STATE)"
  [[ -f $KUBE_BIN/.complete ]] || "$TESTBED_DIR/kube-build.sh" kubelet >/dev/null
  mkdir -p "$NDIR" "$RUN_ROOT"
  exec 9>"$NDIR/.lock"; flock 9  # daemons below close fd 9 (9>&-): they must not hold the lock
  for node in "${NODES[@]}"; do start_engine "$node" & done
  wait
  for node in "${NODES[@]}"; do start_engine "$node"; done  # fails loudly if one did not come up
  log "nodes: ${#NODES[@]} Docker engines up after $((SECONDS - t0)) s"
  build_images
  log "nodes: images ready after $((SECONDS - t0)) s"
  start_controllers
  local since
  since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for node in "${NODES[@]}"; do start_kubelet "$node"; done
  for node in "${NODES[@]}"; do wait_node_ready "$node" "$since"; done
  wait_for "default ServiceAccount" 60 "$NDIR/kube-controller-manager.log" -- \
    kubectl_admin -n default get serviceaccount default || die "no default ServiceAccount"
  log "nodes: ${NODES[*]} Ready after $((SECONDS - t0)) s"
}

cmd_stop() {
  local node
  [[ -d $NDIR ]] || return 0
  for node in "${NODES[@]}"; do stop_kubelet "$node"; done
  stop_pidfile "$NDIR/kube-scheduler.pid"
  stop_pidfile "$NDIR/kube-controller-manager.pid"
  # a start that was interrupted may not have written every pid file: match the state path
  pkill -KILL -f -- "kube(let|-controller-manager|-scheduler) .*$STATE/" 2>/dev/null || true
  for node in "${NODES[@]}"; do stop_engine "$node" & done
  wait
  rmdir "$RUN_ROOT" 2>/dev/null || true
  log "nodes: stopped"
}

cmd_stop_node() {
  local node=$1 ids
  node_index "$node" >/dev/null
  stop_kubelet "$node"
  ids=$(docker_of "$node" ps -q)
  [[ -z $ids ]] || docker_of "$node" kill $ids >/dev/null 2>&1 || true
  log "nodes: $node powered off (kubelet stopped, containers killed)"
}

cmd_start_node() {
  local node=$1 since
  node_index "$node" >/dev/null
  since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  start_kubelet "$node"
  wait_node_ready "$node" "$since"
  log "nodes: $node powered on and Ready"
}

case $ACTION in
  start) cmd_start ;;
  stop) cmd_stop ;;
  stop-node) cmd_stop_node "${3:?$USAGE}" ;;
  start-node) cmd_start_node "${3:?$USAGE}" ;;
  docker) node=${3:?$USAGE}; shift 3; docker_of "$node" "$@" ;;
  *) die "$USAGE" ;;
esac
