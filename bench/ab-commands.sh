#!/usr/bin/env bash
# A/B of single commands: two dynamis binaries run side by side (one idle while the other is
# measured), the order alternating each round, CPU µs per operation of the measured process.
#   bash bench/ab-commands.sh OLD_BINARY NEW_BINARY     (ROUNDS=6 N=200000 PIPELINE=16 by default)
# COMMANDS picks commands by name (e.g. COMMANDS="get set" PIPELINE=1 for the per-request cost).
# Prints per command both binaries' samples and the ratio of the medians (new / old). For a
# change that touches every command's dispatch, cheap commands show it most.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: bench/ab-commands.sh OLD_BINARY NEW_BINARY}; new=${2:?usage: bench/ab-commands.sh OLD_BINARY NEW_BINARY}
ROUNDS=${ROUNDS:-6}
N=${N:-200000}
PIPELINE=${PIPELINE:-16}
COMMANDS=${COMMANDS:-}
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/dynamis-ab-commands.XXXXXX)
start() {  # binary name port -> pid
  printf 'dyn_o_mite:\n  listen: 127.0.0.1:%s\n  stats_listen: 127.0.0.1:%s\n  data_dir: %s/%s\n' "$3" "$(free_port)" "$work" "$2" >"$work/$2.yml"
  "$1" -c "$work/$2.yml" >"$work/$2.log" 2>&1 &
  echo $!
}
port_old=$(free_port); pid_old=$(start "$old" old "$port_old"); pids+=("$pid_old")
port_new=$(free_port); pid_new=$(start "$new" new "$port_new"); pids+=("$pid_new")
wait_port "$port_old"; wait_port "$port_new"
for port in "$port_old" "$port_new"; do
  redis-benchmark -p "$port" -n 100000 -r 1000 -P 16 -c 50 pfadd hll:__rand_int__ a b c >/dev/null 2>&1
  redis-benchmark -p "$port" -n 100000 -r 1000 -P 16 -c 50 zadd z:__rand_int__ __rand_int__ m__rand_int__ >/dev/null 2>&1
done
run() {  # port pid command... -> CPU µs/op
  local port=$1 pid=$2 before after; shift 2
  before=$(cpu_ticks "$pid")
  redis-benchmark -p "$port" -n "$N" -r 1000 -P "$PIPELINE" -c 50 "$@" >/dev/null 2>&1
  after=$(cpu_ticks "$pid")
  python3 -c "print(f'{($after - $before) * $TICK_US / $N:.2f}')"
}
echo "| command | old µs/op | new µs/op | new / old (medians) |"
echo "|---|---|---|---|"
for cmd in "get k:__rand_int__" "set k:__rand_int__ v" "zscore z:__rand_int__ m__rand_int__" "zrange z:__rand_int__ 0 9" \
           "pfcount hll:__rand_int__" "lpush l:__rand_int__ v" "sadd s:__rand_int__ m__rand_int__" "hset h:__rand_int__ f__rand_int__ v" \
           "zadd w:__rand_int__ __rand_int__ m__rand_int__" "hget h:__rand_int__ f__rand_int__" "incr n:__rand_int__" \
           "srandmember s:__rand_int__" "geoadd g __rand_int__e-5 __rand_int__e-5 p:__rand_int__" "pfadd densehll e__rand_int__" \
           "setbit b:__rand_int__ 100 1" "getbit b:__rand_int__ 100" "exists k:__rand_int__" \
           "expire k:__rand_int__ 100000" "ttl k:__rand_int__"; do
  if [[ -n "$COMMANDS" && " $COMMANDS " != *" ${cmd%% *} "* ]]; then continue; fi
  o=""; n=""
  for r in $(seq 1 "$ROUNDS"); do
    # shellcheck disable=SC2086
    if (( r % 2 )); then o+="$(run "$port_old" "$pid_old" $cmd) "; n+="$(run "$port_new" "$pid_new" $cmd) "
    else n+="$(run "$port_new" "$pid_new" $cmd) "; o+="$(run "$port_old" "$pid_old" $cmd) "; fi
  done
  # shellcheck disable=SC2086
  echo "| ${cmd%% *} | $o| $n| $(python3 -c "print(f'{$(median $n) / $(median $o):.2f}')") |"
done
