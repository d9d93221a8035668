#!/usr/bin/env bash
# A/B two dynamis binaries on the same machine in the same run, alternating, for hot-path
# changes: a single RocksDB node, and a 3-rack x 1-node cluster at DC_QUORUM through one node.
#   bash bench/ab.sh OLD_BINARY NEW_BINARY      (ROUNDS=3 N=100000 SETUPS="single cluster" by default)
# Build the old one from a worktree: git worktree add /tmp/base REV && (cd /tmp/base &&
# swift build -c release --product dynamis). Prints, per setup, test and pipeline depth, the
# median ops/s and the median CPU µs per operation of all Dynamis processes together (steady
# where throughput on a small shared machine is not), old and new, and new/old.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: bench/ab.sh OLD_BINARY NEW_BINARY}; new=${2:?usage: bench/ab.sh OLD_BINARY NEW_BINARY}
ROUNDS=${ROUNDS:-3}
SETUPS=${SETUPS:-single cluster}
N=${N:-100000}
CLIENTS=${CLIENTS:-50}
BASE=${BASE:-19700}
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/dynamis-ab.XXXXXX)
trap 'tools/cluster down --dir "$work/cluster" >/dev/null 2>&1 || true; cleanup' EXIT

# "rps cpu_us_per_op" of one redis-benchmark test against PORT, CPU summed over PIDS.
measure() {
  local port=$1 test=$2 pipeline=$3; shift 3
  local before=0 after=0 p rps
  for p in "$@"; do before=$((before + $(cpu_ticks "$p"))); done
  rps=$(redis-benchmark -p "$port" -t "$test" -n "$N" -c "$CLIENTS" -d 64 -r 100000 -P "$pipeline" --csv 2>/dev/null \
    | python3 -c 'import csv, sys; rows = list(csv.reader(sys.stdin)); print(dict(zip(rows[0], rows[1]))["rps"])')
  for p in "$@"; do after=$((after + $(cpu_ticks "$p"))); done
  echo "$rps $(python3 -c "print(f'{($after - $before) * $TICK_US / $N:.2f}')")"
}

declare -A rps cpu
single() {  # binary label
  local port; port=$(free_port)
  rm -rf "$work/single"
  printf 'dyn_o_mite:\n  listen: 127.0.0.1:%s\n  stats_listen: 127.0.0.1:%s\n  data_dir: %s/single\n' "$port" "$(free_port)" "$work" >"$work/single.yml"
  "$1" -c "$work/single.yml" >"$work/single.log" 2>&1 &
  local pid=$!
  wait_port "$port"
  for pipeline in 1 16; do for test in set get; do
    read -r r c < <(measure "$port" "$test" "$pipeline" "$pid")
    rps["single $test $pipeline $2"]+="$r "; cpu["single $test $pipeline $2"]+="$c "
  done; done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
cluster() {  # binary label
  rm -rf "$work/cluster"
  tools/cluster up --dir "$work/cluster" --racks 3 --nodes 1 --base-port "$BASE" --consistency DC_QUORUM --binary "$1" >/dev/null
  local nodes; nodes=$(cat "$work"/cluster/run/*.pid)
  wait_port $((BASE + 2))
  for pipeline in 1 16; do for test in set get; do
    read -r r c < <(measure $((BASE + 2)) "$test" "$pipeline" $nodes)
    rps["cluster $test $pipeline $2"]+="$r "; cpu["cluster $test $pipeline $2"]+="$c "
  done; done
  tools/cluster down --dir "$work/cluster" >/dev/null
}
for _ in $(seq 1 "$ROUNDS"); do
  for setup in $SETUPS; do "$setup" "$old" old; "$setup" "$new" new; done
done
echo "| setup | test | pipeline | old ops/s | new ops/s | old CPU µs/op | new CPU µs/op | new / old CPU |"
echo "|---|---|---|---|---|---|---|---|"
for setup in $SETUPS; do for pipeline in 1 16; do for test in set get; do
  k="$setup $test $pipeline"
  # shellcheck disable=SC2086
  ro=$(median ${rps["$k old"]}); rn=$(median ${rps["$k new"]}); co=$(median ${cpu["$k old"]}); cn=$(median ${cpu["$k new"]})
  echo "| $setup | ${test^^} | $pipeline | $ro | $rn | $co | $cn | $(python3 -c "print(f'{$cn / $co:.2f}')") |"
done; done; done
