# Shared helpers for the testbed scripts. Source it; do not run it.
# Everything listens on 127.0.0.1 only. Caches live outside the work tree.
set -euo pipefail

CARETAKER_CACHE=${CARETAKER_CACHE:-$HOME/.cache/caretaker}
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$CARETAKER_CACHE"

log() { printf '[testbed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# wait_for DESCRIPTION TIMEOUT_SECONDS LOGFILE -- COMMAND...
# Polls COMMAND every 0.2 s; on timeout prints the log tail and fails.
wait_for() {
  local desc=$1 timeout=$2 logfile=$3; shift 4
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then
      log "$desc not ready after ${timeout}s; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
}

# apt_install PACKAGE...: installs Debian packages without starting their services.
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  (( ${#missing[@]} == 0 )) && return 0
  log "apt: installing ${missing[*]}"
  local policy=/usr/sbin/policy-rc.d created=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created=1
  fi
  if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1) ]]; then
    apt-get update -qq >&2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  (( created )) && rm -f "$policy"
  return 0
}

# running PID: true while the process exists and is not a zombie (PID 1 on these machines
# reaps orphans only every ~2 s, so a dead daemon can linger as a zombie).
running() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $state && $state != Z* ]]
}

# stop_pidfile PIDFILE [SIGNAL]: stops the process in PIDFILE and waits up to 10 s.
stop_pidfile() {
  local pidfile=$1 sig=${2:-TERM} pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if running "$pid"; then
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 50); do running "$pid" || break; sleep 0.1; done
    running "$pid" && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# stop_debian_service NAME: a Debian package may have started its own daemon (as user
# prometheus, on the default ports); it must not run next to the testbed's.
stop_debian_service() {
  local name=$1 pidfile=/run/prometheus/$1.pid pid
  stop_pidfile "$pidfile"
  for pid in $(pgrep -x -u prometheus "$name" 2>/dev/null || true); do
    log "stopping Debian's system $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
  done
}
