#!/bin/bash
# Runs until SIGTERM, then needs STOP_SECONDS (default 0) to shut down, then exits 0.
stop=${STOP_SECONDS:-0}
on_term() {
  echo "SIGTERM: stopping in ${stop}s"
  sleep "$stop"
  echo "stopped"
  exit 0
}
trap on_term TERM INT
echo "running; stopping will take ${stop}s"
while true; do
  sleep 1 &
  wait $!
done
