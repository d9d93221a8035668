#!/usr/bin/env bash
# Hinted handoff's catch-up speed: a 3-rack RocksDB cluster at DC_QUORUM, one node killed with
# kill -9, N SETs through another (redis-benchmark, random keys), the node restarted; reports
# how long until the coordinator has no hints left for it, the keys/s and the state bytes/s
# against hinted_handoff_throttle, for each THROTTLES value (the throttle holds when the rate
# follows it).
#   bash bench/catchup.sh [BINARY]      (N=100000 THROTTLES="1mb 4mb" by default; release build)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-./.build/release/dynamis}
N=${N:-100000}
THROTTLES=${THROTTLES:-"1mb 4mb"}
work=$(mktemp -d /tmp/dynamis-catchup.XXXXXX)
source "$(dirname "$0")/lib.sh"
trap 'tools/cluster down --dir "$work/cluster" >/dev/null 2>&1 || true; cleanup' EXIT

hints() {  # pending hints on node 0, and replayed so far
  curl -s "127.0.0.1:$((base + 3))/hints" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(d["pending"].values()), d["replayed"])'
}

printf '| throttle | keys hinted | catch-up seconds | keys/s | state MB/s |\n|---|---|---|---|---|\n'
for throttle in $THROTTLES; do
  base=$(( 20000 + (RANDOM % 400) * 100 ))
  rm -rf "$work/cluster"
  tools/cluster up --racks 3 --consistency DC_QUORUM --dir "$work/cluster" --base-port "$base" --binary "$binary" \
    --set "hinted_handoff_throttle: $throttle" >/dev/null
  victim=dc1-rack3-n0
  kill -9 "$(cat "$work/cluster/run/$victim.pid")"
  redis-benchmark -p $((base + 2)) -t set -n "$N" -r 1000000000 -d 64 -c 50 -P 16 -q >/dev/null
  read -r pending _ < <(hints)
  "$binary" -c "$work/cluster/conf/$victim.yml" >>"$work/cluster/log/$victim.log" 2>&1 &
  echo $! > "$work/cluster/run/$victim.pid"
  start=$(date +%s.%N)
  while true; do
    read -r left replayed < <(hints)
    [ "$left" = 0 ] && break
    sleep 0.2
  done
  end=$(date +%s.%N)
  # Bytes of state per key, as the throttle counts them: the DYNAMIS.APPLY arguments (name 13,
  # key 16, version 19, expiry 1, the DUMP payload of a 64-byte value 75).
  python3 -c "
s = $end - $start; keys = $pending
print(f'| $throttle | {keys} | {s:.1f} | {keys / s:,.0f} | {keys * 124 / s / 1e6:.2f} |')"
  tools/cluster down --dir "$work/cluster" >/dev/null
done
