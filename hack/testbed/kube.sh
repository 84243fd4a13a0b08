#!/usr/bin/env bash
# Kubernetes API server for tests: Debian's etcd + kube-apiserver v1.20.2 (built by
# kube-build.sh), both on 127.0.0.1. The node side (kubelets, controllers) is nodes.sh.
#
#   kube.sh start STATE_DIR               start (idempotent); writes STATE_DIR/kube/
#   kube.sh stop STATE_DIR                stop both, remove etcd's data dir (logs stay)
#   kube.sh add-user STATE_DIR NAME GROUP add a token user (restarts kube-apiserver, ~4 s)
#
# STATE_DIR/kube/ holds: kubeconfig (admin, group system:masters), token, url, ca.crt,
# kubeconfig-caretaker + token-caretaker (user "caretaker", group "caretaker": no rights until
# RBAC grants some), users/<name>/{kubeconfig,token} from add-user, etcd.log,
# kube-apiserver.log, *.pid. Ports: CARETAKER_TESTBED_PORT_BASE (default 20000) + 379 (etcd
# client), + 380 (etcd peer), + 443 (kube-apiserver).
# Admission plugin TaintNodesByCondition is off: it would give every Node that tests create
# without a kubelet a node.kubernetes.io/not-ready:NoSchedule taint (real nodes still get the
# node lifecycle controller's taints). Credentials of the node side's components are made at
# the first start: STATE_DIR/kube/components/<user>/kubeconfig.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT_BASE=${CARETAKER_TESTBED_PORT_BASE:-20000}
ETCD_PORT=$((PORT_BASE + 379))
ETCD_PEER_PORT=$((PORT_BASE + 380))
API_PORT=$((PORT_BASE + 443))
SERVICE_CIDR=10.96.0.0/24
read -r -a NODE_NAMES <<< "${CARETAKER_CEPH_HOSTS:-ct-node-a ct-node-b ct-node-c}"
COMPONENTS=(kube-controller-manager kube-scheduler)
for node_name in "${NODE_NAMES[@]}"; do COMPONENTS+=("system:node:$node_name"); done
# The ServiceAccount admission plugin needs the controller manager's token controller (nodes.sh);
# CARETAKER_KUBE_BARE=1 starts an API server that runs without one (pods need no ServiceAccount).
DISABLED_ADMISSION=TaintNodesByCondition
[[ ${CARETAKER_KUBE_BARE:-0} == 1 ]] && DISABLED_ADMISSION=ServiceAccount,$DISABLED_ADMISSION

usage() { die "usage: kube.sh {start|stop} STATE_DIR | kube.sh add-user STATE_DIR NAME GROUP"; }

# running PID: alive and not a zombie (this machine's PID 1 reaps orphans only every ~2 s).
# A zombie leader whose other threads still exit shows "Zl": its sockets may still be open.
running() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $state != Z* || $state == *l* ]]
}
alive() { [[ -f $1 ]] && running "$(cat "$1")"; }

# kill_pidfile PIDFILE: SIGKILL (the data is thrown away anyway; TERM costs 2-2.5 s per process).
# Only if the PID still runs the program the pid file is named after (PIDs get reused).
kill_pidfile() {
  [[ -f $1 ]] || return 0
  local pid program
  pid=$(cat "$1") program=$(basename "$1" .pid)
  if [[ $(ps -o comm= -p "$pid" 2>/dev/null) == "$program" ]]; then
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 100); do running "$pid" || break; sleep 0.05; done
  fi
  rm -f "$1"
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
etcd_healthy() { curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"true"'; }
apiserver_ready() {
  [[ -f $KDIR/url ]] || return 1
  [[ $(curl -sf --max-time 2 --cacert "$KDIR/ca.crt" -H "Authorization: Bearer $(cat "$KDIR/token")" \
    "$(cat "$KDIR/url")/readyz") == ok ]]
}

# make_certs: a CA, a serving cert for 127.0.0.1 signed by it, a service-account key pair.
make_certs() {
  [[ -f $KDIR/sa.pub ]] && return 0
  local tmp=$KDIR/certs.tmp
  rm -rf "$tmp"; mkdir -p "$tmp"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj /CN=caretaker-testbed-ca -keyout "$tmp/ca.key" -out "$tmp/ca.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=kube-apiserver \
    -keyout "$tmp/serving.key" -out "$tmp/serving.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' \
    > "$tmp/serving.ext"
  openssl x509 -req -in "$tmp/serving.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" \
    -CAcreateserial -days 3650 -extfile "$tmp/serving.ext" -out "$tmp/serving.crt" 2>/dev/null
  openssl genrsa -out "$tmp/sa.key" 2048 2>/dev/null
  openssl rsa -in "$tmp/sa.key" -pubout -out "$tmp/sa.pub" 2>/dev/null
  mv "$tmp"/{ca.key,ca.crt,serving.key,serving.crt,sa.key} "$KDIR"/
  mv "$tmp/sa.pub" "$KDIR/sa.pub"  # last: its presence marks a complete set
  rm -rf "$tmp"
}

# write_kubeconfig FILE USER TOKEN
write_kubeconfig() {
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: caretaker-testbed
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 < "$KDIR/ca.crt")
users:
- name: $2
  user:
    token: $3
contexts:
- name: caretaker-testbed
  context:
    cluster: caretaker-testbed
    user: $2
    namespace: default
current-context: caretaker-testbed
EOF
}

new_token() { openssl rand -hex 24; }

# write_credentials: the apiserver's token file (once), kubeconfigs for admin and caretaker
# (each start: the port may differ).
write_credentials() {
  if [[ ! -f $KDIR/tokens.csv ]]; then
    new_token > "$KDIR/token"
    new_token > "$KDIR/token-caretaker"
    printf '%s,admin,admin-uid,"system:masters"\n%s,caretaker,caretaker-uid,"caretaker"\n' \
      "$(cat "$KDIR/token")" "$(cat "$KDIR/token-caretaker")" > "$KDIR/tokens.csv.tmp"
    # the node side (nodes.sh): controller manager, scheduler and one kubelet per node
    local component
    for component in "${COMPONENTS[@]}"; do
      mkdir -p "$KDIR/components/$component"
      new_token > "$KDIR/components/$component/token"
      printf '%s,%s,%s-uid,"system:masters,system:nodes"\n' \
        "$(cat "$KDIR/components/$component/token")" "$component" "$component" >> "$KDIR/tokens.csv.tmp"
    done
    mv "$KDIR/tokens.csv.tmp" "$KDIR/tokens.csv"
  fi
  write_kubeconfig "$KDIR/kubeconfig" admin "$(cat "$KDIR/token")"
  write_kubeconfig "$KDIR/kubeconfig-caretaker" caretaker "$(cat "$KDIR/token-caretaker")"
  for component in "${COMPONENTS[@]}"; do
    write_kubeconfig "$KDIR/components/$component/kubeconfig" "$component" \
      "$(cat "$KDIR/components/$component/token")"
  done
}

start_etcd() {
  if alive "$KDIR/etcd.pid"; then return 0; fi
  port_in_use "$ETCD_PORT" && die "port $ETCD_PORT (etcd) is taken; set CARETAKER_TESTBED_PORT_BASE"
  port_in_use "$ETCD_PEER_PORT" && die "port $ETCD_PEER_PORT (etcd peer) is taken"
  local data
  data=$(mktemp -d /dev/shm/caretaker-etcd.XXXXXX)
  echo "$data" > "$KDIR/etcd-data-dir"
  setsid /usr/bin/etcd --name caretaker --data-dir "$data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "caretaker=http://127.0.0.1:$ETCD_PEER_PORT" \
    --logger zap --log-outputs stderr --log-level warn \
    </dev/null >"$KDIR/etcd.log" 2>&1 9>&- &
  echo $! > "$KDIR/etcd.pid"
  wait_for etcd 30 "$KDIR/etcd.log" -- etcd_healthy || die "etcd did not start"
}

start_apiserver() {
  if alive "$KDIR/kube-apiserver.pid" && apiserver_ready; then return 0; fi
  kill_pidfile "$KDIR/kube-apiserver.pid"
  port_in_use "$API_PORT" && die "port $API_PORT (kube-apiserver) is taken"
  local bin
  bin=$("$TESTBED_DIR/kube-build.sh" kube-apiserver)
  echo "https://127.0.0.1:$API_PORT" > "$KDIR/url"
  setsid "$bin" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$API_PORT" --insecure-port=0 --cert-dir="$KDIR" \
    --tls-cert-file="$KDIR/serving.crt" --tls-private-key-file="$KDIR/serving.key" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --token-auth-file="$KDIR/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$KDIR/sa.pub" --service-account-signing-key-file="$KDIR/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --endpoint-reconciler-type=none \
    --kubelet-preferred-address-types=InternalIP \
    --disable-admission-plugins=$DISABLED_ADMISSION --allow-privileged=true --profiling=false \
    </dev/null >"$KDIR/kube-apiserver.log" 2>&1 9>&- &
  echo $! > "$KDIR/kube-apiserver.pid"
  wait_for kube-apiserver 60 "$KDIR/kube-apiserver.log" -- apiserver_ready \
    || die "kube-apiserver did not become ready"
}

cmd_start() {
  mkdir -p "$KDIR"
  exec 9>"$KDIR/.lock"; flock 9
  local started=$SECONDS
  # a running etcd keeps the ports it was started with
  if alive "$KDIR/etcd.pid" && [[ -f $KDIR/ports ]]; then source "$KDIR/ports"; fi
  printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPI_PORT=%s\n' "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" \
    > "$KDIR/ports"
  make_certs
  write_credentials
  start_etcd
  log "etcd ready after $((SECONDS - started)) s"
  start_apiserver
  log "kube-apiserver ready at $(cat "$KDIR/url") after $((SECONDS - started)) s" \
    "(KUBECONFIG=$KDIR/kubeconfig)"
}

cmd_stop() {
  [[ -d $KDIR ]] || return 0
  kill_pidfile "$KDIR/kube-apiserver.pid"
  kill_pidfile "$KDIR/etcd.pid"
  if [[ -f $KDIR/etcd-data-dir ]]; then
    rm -rf "$(cat "$KDIR/etcd-data-dir")"
    rm -f "$KDIR/etcd-data-dir"
  fi
}

# cmd_add_user NAME GROUP: token user with a kubeconfig; kube-apiserver reads tokens only at start.
cmd_add_user() {
  local name=$1 group=$2 token dir=$KDIR/users/$1
  [[ $name =~ ^[a-z0-9][a-z0-9.-]*$ ]] || die "bad user name: $name"
  [[ -f $KDIR/tokens.csv && -f $KDIR/ports ]] || die "start the testbed first"
  exec 9>"$KDIR/.lock"; flock 9
  source "$KDIR/ports"
  if ! grep -q ",$name,$name-uid," "$KDIR/tokens.csv"; then
    token=$(new_token)
    printf '%s,%s,%s-uid,"%s"\n' "$token" "$name" "$name" "$group" >> "$KDIR/tokens.csv"
    mkdir -p "$dir"
    echo "$token" > "$dir/token"
    write_kubeconfig "$dir/kubeconfig" "$name" "$token"
    kill_pidfile "$KDIR/kube-apiserver.pid"  # etcd keeps the data
  fi
  start_apiserver
  echo "$dir/kubeconfig"
}

[[ $# -ge 2 ]] || usage
STATE_DIR=$2
KDIR=$STATE_DIR/kube
case $1 in
  start) cmd_start ;;
  stop) cmd_stop ;;
  add-user) [[ $# -eq 4 ]] || usage; cmd_add_user "$3" "$4" ;;
  *) usage ;;
esac
