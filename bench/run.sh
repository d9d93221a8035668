#!/usr/bin/env bash
# Dynamis vs redis-server, same machine, same run, alternating (release build).
#   bash bench/run.sh            # full run
#   ROUNDS=1 N=100000 bash bench/run.sh   # quicker
# Prints a markdown table of ops/s, p99 and the Dynamis/redis ratio (median of ROUNDS runs),
# then the raw RocksDB put/get rates through the C API: the ceiling for SET.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
TESTS=${TESTS:-set,get}

swift build -c release --product dynamis >/dev/null
swift build -c release --product rocksdb-raw-bench >/dev/null
BIN=.build/release

work=$(mktemp -d /tmp/dynamis-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 1 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "port $1 never answered" >&2; exit 1; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no \
  >"$work/redis.log" 2>&1 &
pids+=($!)
dyn_port=$(free_port)
cat >"$work/dynamis.yml" <<YAML
dyn_o_mite:
  listen: 127.0.0.1:$dyn_port
  data_store: rocksdb
  data_dir: $work/data
  fsync: everysec
  io_threads: ${IO_THREADS:-0}
YAML
"$BIN/dynamis" -c "$work/dynamis.yml" >"$work/dynamis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"
wait_port "$dyn_port"

# One redis-benchmark run; prints "TEST rps p99" lines.
bench() {
  redis-benchmark -p "$1" -t "$TESTS" -n "$N" -c "$CLIENTS" -d 64 -r 100000 -P "$2" --csv 2>/dev/null \
    | python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
head = rows[0]
for r in rows[1:]:
    d = dict(zip(head, r))
    print(d["test"], d["rps"], d.get("p99_latency_ms", "0"))'
}

median() { python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

declare -A results
for pipeline in 1 16; do
  for round in $(seq 1 "$ROUNDS"); do
    for target in redis dynamis; do
      port=$redis_port; [ "$target" = dynamis ] && port=$dyn_port
      while read -r test rps p99; do
        results["$target|$pipeline|$test|rps"]+="$rps "
        results["$target|$pipeline|$test|p99"]+="$p99 "
      done < <(bench "$port" "$pipeline")
    done
  done
done

echo
echo "redis-benchmark -t $TESTS -n $N -c $CLIENTS -d 64 -r 100000, median of $ROUNDS alternating rounds ($(nproc) cores)"
echo
echo "| test | pipeline | redis-server ops/s | Dynamis ops/s | ratio | redis p99 ms | Dynamis p99 ms |"
echo "|---|---|---|---|---|---|---|"
for pipeline in 1 16; do
  for test in $(echo "$TESTS" | tr ',' ' ' | tr a-z A-Z); do
    r=$(median ${results["redis|$pipeline|$test|rps"]})
    d=$(median ${results["dynamis|$pipeline|$test|rps"]})
    rp=$(median ${results["redis|$pipeline|$test|p99"]})
    dp=$(median ${results["dynamis|$pipeline|$test|p99"]})
    ratio=$(python3 -c "print(f'{$d/$r:.2f}')")
    printf '| %s | %s | %.0f | %.0f | %s | %s | %s |\n' "$test" "$pipeline" "$r" "$d" "$ratio" "$rp" "$dp"
  done
done
echo
"$BIN/rocksdb-raw-bench" "$work/raw"
