#!/usr/bin/env bash
# Collection commands, Dynamis (RocksDB engine) vs redis-server, same run, alternating, -P 16.
#   bash bench/collections.sh          ROUNDS=1 N=100000 bash bench/collections.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}

swift build -c release --product dynamis >/dev/null
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/dynamis-collections.XXXXXX)

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!; pids+=($!)
dyn_port=$(free_port)
printf 'dyn_o_mite:\n  listen: 127.0.0.1:%s\n  stats_listen: 127.0.0.1:%s\n  data_store: rocksdb\n  data_dir: %s/data\n' "$dyn_port" "$(free_port)" "$work" >"$work/dynamis.yml"
.build/release/dynamis -c "$work/dynamis.yml" >"$work/dynamis.log" 2>&1 &
dyn_pid=$!; pids+=($!)
wait_port "$redis_port"; wait_port "$dyn_port"

# name | redis-benchmark arguments (a built-in test, or a custom command)
tests=(
  "LPUSH|-t lpush"
  "LPOP|-t lpop"
  "SADD|-t sadd"
  "SRANDMEMBER|SRANDMEMBER myset"
  "SPOP|-t spop"
  "HSET|-t hset"
  "ZADD|ZADD myzset __rand_int__ element:__rand_int__"
  "ZRANGE 0 9|ZRANGE myzset 0 9"
  "ZSCORE|ZSCORE myzset element:__rand_int__"
  # Redis refuses a zero-padded bit offset (redis-benchmark pads __rand_int__), so one fixed bit
  # near the end of a 125 KB bitmap.
  "SETBIT|SETBIT mybits 1000000 1"
  "GETBIT|GETBIT mybits 1000000"
  "BITCOUNT|BITCOUNT mybits"
  "PFADD|PFADD myhll element:__rand_int__"
  "PFCOUNT|PFCOUNT myhll"
  # Points spread over a 1°x1° square (each placeholder is its own random number).
  "GEOADD|GEOADD mygeo __rand_int__e-5 __rand_int__e-5 place:__rand_int__"
  "GEOSEARCH 1 km|GEOSEARCH mygeo FROMLONLAT 0.5 0.5 BYRADIUS 1 km ASC"
)
declare -A rps cpu
for round in $(seq 1 "$ROUNDS"); do
  for spec in "${tests[@]}"; do
    name=${spec%%|*}; args=${spec#*|}
    for target in redis dynamis; do
      port=$redis_port; pid=$redis_pid
      [ "$target" = dynamis ] && { port=$dyn_port; pid=$dyn_pid; }
      before=$(cpu_ticks "$pid")
      # shellcheck disable=SC2086
      r=$(redis-benchmark -p "$port" -n "$N" -c "$CLIENTS" -P "$PIPELINE" -r 100000 -d 64 --csv $args 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"')
      after=$(cpu_ticks "$pid")
      rps["$target|$name"]+="$r "
      cpu["$target|$name"]+="$(python3 -c "print(($after - $before) * $TICK_US / $N)") "
    done
  done
done

echo
echo "redis-benchmark -n $N -c $CLIENTS -P $PIPELINE -r 100000 -d 64, median of $ROUNDS alternating rounds ($(nproc) cores)"
echo
echo "| command | redis-server ops/s | Dynamis ops/s | Dynamis / redis | redis CPU µs/op | Dynamis CPU µs/op |"
echo "|---|---|---|---|---|---|"
for spec in "${tests[@]}"; do
  name=${spec%%|*}
  r=$(median ${rps["redis|$name"]}); d=$(median ${rps["dynamis|$name"]})
  printf '| %s | %.0f | %.0f | %.2f | %.2f | %.2f |\n' "$name" "$r" "$d" "$(python3 -c "print($d/$r)")" \
    "$(median ${cpu["redis|$name"]})" "$(median ${cpu["dynamis|$name"]})"
done
