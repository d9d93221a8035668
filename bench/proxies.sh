#!/usr/bin/env bash
# Proxies in front of one redis-server, same machine, same run, alternating (release build):
# redis-server direct, twemproxy (nutcracker), and Dynamis's Redis engine; then memcached direct
# against Dynamis's Memcached engine (memcaslap, 90% get / 10% set).
#   bash bench/proxies.sh          ROUNDS=1 N=100000 bash bench/proxies.sh
# Prints ops/s, p99 and each proxy's ratio to direct redis-server (median of ROUNDS), and the
# proxy process's own CPU time per operation.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
command -v nutcracker >/dev/null || { echo "needs nutcracker (apt-get install nutcracker)" >&2; exit 1; }
command -v memcaslap >/dev/null || { echo "needs memcaslap (apt-get install libmemcached-tools)" >&2; exit 1; }

swift build -c release --product dynamis >/dev/null
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/dynamis-proxies.XXXXXX)

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!; pids+=($!)
twem_port=$(free_port)
cat >"$work/twemproxy.yml" <<YAML
alpha:
  listen: 127.0.0.1:$twem_port
  hash: fnv1a_64
  distribution: ketama
  redis: true
  server_connections: 1
  servers:
   - 127.0.0.1:$redis_port:1
YAML
nutcracker -c "$work/twemproxy.yml" -o "$work/twemproxy.log" -s "$(free_port)" &
twem_pid=$!; pids+=($!)
dyn_port=$(free_port)
cat >"$work/dynamis.yml" <<YAML
dyn_o_mite:
  listen: 127.0.0.1:$dyn_port
  stats_listen: 127.0.0.1:$(free_port)
  data_store: redis
  servers:
  - 127.0.0.1:$redis_port:1
YAML
.build/release/dynamis -c "$work/dynamis.yml" >"$work/dynamis.log" 2>&1 &
dyn_pid=$!; pids+=($!)
wait_port "$redis_port"; wait_port "$twem_port"; wait_port "$dyn_port"

declare -A results
for pipeline in 1 16; do
  for round in $(seq 1 "$ROUNDS"); do
    for target in redis twemproxy dynamis; do
      case $target in
        redis) port=$redis_port; pid=$redis_pid ;;
        twemproxy) port=$twem_port; pid=$twem_pid ;;
        dynamis) port=$dyn_port; pid=$dyn_pid ;;
      esac
      for test in set get; do
        before=$(cpu_ticks "$pid")
        read -r rps p99 < <(redis-benchmark -p "$port" -t "$test" -n "$N" -c "$CLIENTS" -d 64 -r 100000 -P "$pipeline" --csv 2>/dev/null \
          | python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin)); d = dict(zip(rows[0], rows[1])); print(d["rps"], d["p99_latency_ms"])')
        after=$(cpu_ticks "$pid")
        results["$target|$pipeline|$test|rps"]+="$rps "
        results["$target|$pipeline|$test|p99"]+="$p99 "
        results["$target|$pipeline|$test|cpu"]+="$(python3 -c "print(($after - $before) * $TICK_US / $N)") "
      done
    done
  done
done

echo
echo "redis-benchmark -n $N -c $CLIENTS -d 64 -r 100000, one redis-server backend, median of $ROUNDS alternating rounds ($(nproc) cores)"
echo
echo "| test | pipeline | redis-server ops/s | twemproxy ops/s | Dynamis ops/s | twemproxy / redis | Dynamis / redis | p99 ms redis / twemproxy / Dynamis | proxy CPU µs/op twemproxy / Dynamis |"
echo "|---|---|---|---|---|---|---|---|---|"
for pipeline in 1 16; do
  for test in set get; do
    r=$(median ${results["redis|$pipeline|$test|rps"]}); t=$(median ${results["twemproxy|$pipeline|$test|rps"]})
    d=$(median ${results["dynamis|$pipeline|$test|rps"]})
    rp=$(median ${results["redis|$pipeline|$test|p99"]}); tp=$(median ${results["twemproxy|$pipeline|$test|p99"]})
    dp=$(median ${results["dynamis|$pipeline|$test|p99"]})
    tc=$(median ${results["twemproxy|$pipeline|$test|cpu"]}); dc=$(median ${results["dynamis|$pipeline|$test|cpu"]})
    printf '| %s | %s | %.0f | %.0f | %.0f | %.2f | %.2f | %s / %s / %s | %.2f / %.2f |\n' "${test^^}" "$pipeline" "$r" "$t" "$d" \
      "$(python3 -c "print($t/$r)")" "$(python3 -c "print($d/$r)")" "$rp" "$tp" "$dp" "$tc" "$dc"
  done
done

# Memcached: direct vs Dynamis's Memcached engine.
mc_port=$(free_port)
memcached -p "$mc_port" -l 127.0.0.1 -U 0 -u "$(id -un)" -m 256 &
mc_pid=$!; pids+=($!)
dmc_port=$(free_port)
cat >"$work/dynamis-mc.yml" <<YAML
dyn_o_mite:
  listen: 127.0.0.1:$dmc_port
  stats_listen: 127.0.0.1:$(free_port)
  data_store: memcached
  servers:
  - 127.0.0.1:$mc_port:1
YAML
.build/release/dynamis -c "$work/dynamis-mc.yml" >"$work/dynamis-mc.log" 2>&1 &
dmc_pid=$!; pids+=($!)
sleep 1
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
declare -A mc
for round in $(seq 1 "$ROUNDS"); do
  for target in memcached dynamis; do
    port=$mc_port; pid=$mc_pid
    [ "$target" = dynamis ] && { port=$dmc_port; pid=$dmc_pid; }
    before=$(cpu_ticks "$pid")
    out=$(memcaslap -s "127.0.0.1:$port" -t "${SECONDS_PER_RUN}s" -T 1 -c "$CLIENTS" -X 64 2>&1 | grep "^Run time")
    after=$(cpu_ticks "$pid")
    ops=$(echo "$out" | sed -E 's/.*Ops: ([0-9]+).*/\1/'); tps=$(echo "$out" | sed -E 's/.*TPS: ([0-9]+).*/\1/')
    mc["$target|tps"]+="$tps "
    mc["$target|cpu"]+="$(python3 -c "print(($after - $before) * $TICK_US / max($ops, 1))") "
  done
done
m=$(median ${mc["memcached|tps"]}); d=$(median ${mc["dynamis|tps"]})
echo
echo "memcaslap -c $CLIENTS -X 64 (90% get, 10% set), ${SECONDS_PER_RUN}s runs, median of $ROUNDS alternating rounds"
echo
echo "| memcached TPS | Dynamis TPS | Dynamis / memcached | memcached CPU µs/op | Dynamis CPU µs/op |"
echo "|---|---|---|---|---|"
printf '| %.0f | %.0f | %.2f | %.2f | %.2f |\n' "$m" "$d" "$(python3 -c "print($d/$m)")" \
  "$(median ${mc["memcached|cpu"]})" "$(median ${mc["dynamis|cpu"]})"
