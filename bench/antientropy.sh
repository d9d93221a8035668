#!/usr/bin/env bash
# Anti-entropy's efficiency: two racks of one RocksDB node each (release build), KEYS keys
# written to both, then node B killed while DIVERGENT keys are written through A alone (hints
# and read repair off, so only repair can bring them), B restarted and repaired with /repair.
#   bash bench/antientropy.sh          # KEYS=1000000 DIVERGENT=1000 VALUE=100 by default
# Prints, from B's /repair/status: bytes exchanged with A for the divergent keys (against the
# issue's bound of 2 x the divergent data + 1 MB), for a full comparison of identical copies,
# and the transfer rate of a throttled pass (THROTTLE bytes/s, THROTTLED keys of 1 KB).
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-1000000}
DIVERGENT=${DIVERGENT:-1000}
VALUE=${VALUE:-100}
THROTTLE=${THROTTLE:-262144}
THROTTLED=${THROTTLED:-3000}
swift build -c release --product dynamis >/dev/null
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/dynamis-bench-ae.XXXXXX)
a_port=$(free_port); b_port=$(free_port); a_peer=$(free_port); b_peer=$(free_port); a_admin=$(free_port); b_admin=$(free_port)

config() {  # name port peer admin rack other-peer other-rack throttle
  cat >"$work/$1.yml" <<YAML
dyn_o_mite:
  listen: 127.0.0.1:$2
  dyn_listen: 127.0.0.1:$3
  stats_listen: 127.0.0.1:$4
  datacenter: dc1
  rack: $5
  tokens: '0'
  data_store: rocksdb
  data_dir: $work/$1-data
  read_consistency: DC_ONE
  write_consistency: DC_QUORUM
  hinted_handoff_enabled: false
  read_repairs_enabled: false
  anti_entropy_interval: 0
  anti_entropy_throttle: $8
  dyn_seeds:
  - 127.0.0.1:$6:$7:dc1:0
YAML
}
config a "$a_port" "$a_peer" "$a_admin" rack1 "$b_peer" rack2 16777216
config b "$b_port" "$b_peer" "$b_admin" rack2 "$a_peer" rack1 16777216
start() { .build/release/dynamis -c "$work/$1.yml" >>"$work/$1.log" 2>&1 & pids+=($!); eval "${1}_pid=$!"; wait_port "$2"; }
start a "$a_port"; start b "$b_port"
sleep 2

status() { curl -s "http://127.0.0.1:$b_admin/repair/status"; }
field() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
# Starts a pass on B and waits for it; prints "seconds".
repair() {
  local before started
  before=$(status | field repair_passes)
  started=$(date +%s.%N)
  curl -s "http://127.0.0.1:$b_admin/repair" >/dev/null
  while [ "$(status | field repair_passes)" = "$before" ]; do sleep 0.2; done
  python3 -c "print(f'{$(date +%s.%N) - $started:.1f}')"
}
# Writes $2 keys named $1<n> with $3-byte values through A at DC_ONE (B is down).
diverge() {
  python3 - "$1" "$2" "$3" <<'PY' | redis-cli -p "$a_port" >/dev/null
import sys
prefix, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print("DYNO_CONFIG:CONN_CONSISTENCY DC_ONE")
for n in range(count):
    print(f"SET {prefix}{n} {'v' * size}")
PY
}

echo "loading $KEYS SETs of $VALUE bytes through A (both copies)..."
redis-benchmark -p "$a_port" -t set -n "$KEYS" -r 100000000 -d "$VALUE" -P 16 -c 50 -q >/dev/null
echo "keys: A $(redis-cli -p "$a_port" DBSIZE), B $(redis-cli -p "$b_port" DBSIZE)"

kill -9 "$b_pid"; wait "$b_pid" 2>/dev/null || true
diverge "divergent:" "$DIVERGENT" "$VALUE"
start b "$b_port"; sleep 2
seconds=$(repair)
s=$(status)
bytes=$(echo "$s" | field repair_bytes_exchanged); pulled=$(echo "$s" | field repair_keys_pulled)
data=$((DIVERGENT * (VALUE + 12)))
echo "| divergent keys | pulled | bytes exchanged | bound (2 x data + 1 MB) | pass s |"
echo "|---|---|---|---|---|"
echo "| $DIVERGENT x $VALUE B | $pulled | $bytes | $((2 * data + 1048576)) | $seconds |"

seconds=$(repair)
identical=$(( $(status | field repair_bytes_exchanged) - bytes ))
echo
echo "identical copies: a full comparison exchanged $identical bytes in $seconds s (bound 204800)"

# The throttle: B restarted with anti_entropy_throttle = THROTTLE, THROTTLED keys of 1 KB to pull.
kill -9 "$b_pid"; wait "$b_pid" 2>/dev/null || true
diverge "throttled:" "$THROTTLED" 1000
config b "$b_port" "$b_peer" "$b_admin" rack2 "$a_peer" rack1 "$THROTTLE"
start b "$b_port"; sleep 2
curl -s "http://127.0.0.1:$b_admin/repair" >/dev/null
samples="$work/samples"
: >"$samples"
while [ "$(status | field repair_passes)" = "0" ]; do
  echo "$(date +%s.%N) $(status | field repair_keys_pulled)" >>"$samples"; sleep 0.25
done
echo "$(date +%s.%N) $(status | field repair_keys_pulled)" >>"$samples"
python3 - "$samples" "$THROTTLE" <<'PY'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
moving = [r for r in rows if r[1] > 0]
first, last = moving[0], moving[-1]
per_key = 1000 + 11 + len("throttled:1000")   # payload (value + DUMP trailer) + key, as the throttle counts
rate = (last[1] - first[1]) * per_key / (last[0] - first[0])
throttle = int(sys.argv[2])
print(f"throttle {throttle} B/s: {int(last[1])} keys pulled, {rate:.0f} B/s while transferring ({rate / throttle:.2f} x the throttle)")
PY
