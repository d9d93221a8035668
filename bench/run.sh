#!/usr/bin/env bash
# Dynamis vs redis-server, same machine, same run, alternating (release build).
#   bash bench/run.sh            # full run
#   ROUNDS=1 N=100000 bash bench/run.sh   # quicker
# Prints a markdown table (median of ROUNDS runs) of ops/s, p99, the Dynamis/redis ratios, and
# each server's own CPU time per operation; then the raw RocksDB put/get rates through the C
# API: the ceiling for SET. The servers: redis-server without persistence, redis-server with
# an append-only file synced every second, and Dynamis (WAL before reply, synced every second).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
TESTS=${TESTS:-set,get}

swift build -c release --product dynamis >/dev/null
swift build -c release --product rocksdb-raw-bench >/dev/null
BIN=.build/release

source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/dynamis-bench.XXXXXX)


redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no \
  >"$work/redis.log" 2>&1 &
redis_pid=$!
pids+=($!)
# A durable reference too: Redis with an append-only file synced every second, the closest
# Redis setting to Dynamis's default (WAL written before the reply, synced every second).
aof_port=$(free_port)
mkdir -p "$work/aof"
redis-server --port "$aof_port" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
  --dir "$work/aof" --daemonize no >"$work/redis-aof.log" 2>&1 &
aof_pid=$!
pids+=($!)
dyn_port=$(free_port)
cat >"$work/dynamis.yml" <<YAML
dyn_o_mite:
  listen: 127.0.0.1:$dyn_port
  stats_listen: 127.0.0.1:$(free_port)
  data_store: rocksdb
  data_dir: $work/data
  fsync: everysec
  io_threads: ${IO_THREADS:-0}
YAML
"$BIN/dynamis" -c "$work/dynamis.yml" >"$work/dynamis.log" 2>&1 &
dyn_pid=$!
pids+=($!)
wait_port "$redis_port"
wait_port "$aof_port"
wait_port "$dyn_port"


# One redis-benchmark run per test; prints "TEST rps p99 cpu_us_per_op" lines. The server's own
# CPU time per operation is steady where throughput on a small shared machine is not.
bench() {
  local port=$1 pipeline=$2 pid=$3
  for test in $(echo "$TESTS" | tr ',' ' '); do
    local before after
    before=$(cpu_ticks "$pid")
    redis-benchmark -p "$port" -t "$test" -n "$N" -c "$CLIENTS" -d 64 -r 100000 -P "$pipeline" --csv 2>/dev/null \
      | python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
head = rows[0]
for r in rows[1:]:
    d = dict(zip(head, r))
    print(d["test"], d["rps"], d.get("p99_latency_ms", "0"), end=" ")'
    after=$(cpu_ticks "$pid")
    python3 -c "print(f'{($after - $before) * $TICK_US / $N:.2f}')"
  done
}


declare -A results
for pipeline in 1 16; do
  for round in $(seq 1 "$ROUNDS"); do
    for target in redis aof dynamis; do
      port=$redis_port; pid=$redis_pid
      [ "$target" = dynamis ] && { port=$dyn_port; pid=$dyn_pid; }
      [ "$target" = aof ] && { port=$aof_port; pid=$aof_pid; }
      while read -r test rps p99 cpu; do
        results["$target|$pipeline|$test|rps"]+="$rps "
        results["$target|$pipeline|$test|p99"]+="$p99 "
        results["$target|$pipeline|$test|cpu"]+="$cpu "
      done < <(bench "$port" "$pipeline" "$pid")
    done
  done
done

echo
echo "redis-benchmark -t $TESTS -n $N -c $CLIENTS -d 64 -r 100000, median of $ROUNDS alternating rounds ($(nproc) cores)"
echo
echo "| test | pipeline | redis-server ops/s | redis AOF everysec ops/s | Dynamis ops/s | Dynamis / redis | Dynamis / redis AOF | redis p99 ms | Dynamis p99 ms | redis CPU µs/op | Dynamis CPU µs/op |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for pipeline in 1 16; do
  for test in $(echo "$TESTS" | tr ',' ' ' | tr a-z A-Z); do
    r=$(median ${results["redis|$pipeline|$test|rps"]})
    a=$(median ${results["aof|$pipeline|$test|rps"]})
    d=$(median ${results["dynamis|$pipeline|$test|rps"]})
    rp=$(median ${results["redis|$pipeline|$test|p99"]})
    dp=$(median ${results["dynamis|$pipeline|$test|p99"]})
    rc=$(median ${results["redis|$pipeline|$test|cpu"]})
    dc=$(median ${results["dynamis|$pipeline|$test|cpu"]})
    ratio=$(python3 -c "print(f'{$d/$r:.2f}')")
    aratio=$(python3 -c "print(f'{$d/$a:.2f}')")
    printf '| %s | %s | %.0f | %.0f | %.0f | %s | %s | %s | %s | %.2f | %.2f |\n' "$test" "$pipeline" "$r" "$a" "$d" "$ratio" "$aratio" "$rp" "$dp" "$rc" "$dc"
  done
done
echo
"$BIN/rocksdb-raw-bench" "$work/raw"
