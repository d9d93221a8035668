#!/usr/bin/env bash
# dynamis-snapshot throughput on N small keys (release build), against a live node and offline.
#   bash bench/snapshot.sh            # N=1000000
#   N=200000 bash bench/snapshot.sh   # quicker
# redis-server makes the input: DEBUG POPULATE N keys ("key:i" -> "value:i"), SAVE. Then:
# import that RDB into a live Dynamis node (RESTORE, pipelined), export it back as RDB and as
# JSON Lines, export and bulk-load offline (--data-dir), and, as the yardstick, the time
# redis-server itself takes to load the same RDB at startup. Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}

swift build -c release --product dynamis >/dev/null
swift build -c release --product dynamis-snapshot >/dev/null
BIN=.build/release
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/dynamis-snapbench.XXXXXX)

now() { python3 -c 'import time; print(time.monotonic())'; }
rate() { python3 -c "import sys; print(f'{$N / ($2 - $1):,.0f}')"; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --dbfilename src.rdb --enable-debug-command yes \
  --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"
redis-cli -p "$redis_port" DEBUG POPULATE "$N" >/dev/null
redis-cli -p "$redis_port" SAVE >/dev/null

dyn_port=$(free_port)
cat >"$work/dynamis.yml" <<YAML
dyn_o_mite:
  listen: 127.0.0.1:$dyn_port
  stats_listen: 127.0.0.1:$(free_port)
  data_store: rocksdb
  data_dir: $work/data
YAML
"$BIN/dynamis" -c "$work/dynamis.yml" >"$work/dynamis.log" 2>&1 &
dyn_pid=$!
pids+=($!)
wait_port "$dyn_port"

rows=()
row() { rows+=("| $1 | $(secs "$2" "$3") | $(rate "$2" "$3") |"); }

t0=$(now); "$BIN/dynamis-snapshot" import --quiet --to "127.0.0.1:$dyn_port" "$work/src.rdb"; t1=$(now)
row "import RDB into a live node (RESTORE, pipelined)" "$t0" "$t1"
got=$(redis-cli -p "$dyn_port" DBSIZE); [ "$got" = "$N" ] || { echo "import lost keys: $got of $N" >&2; cat "$work/dynamis.log" >&2; exit 1; }
t0=$(now); "$BIN/dynamis-snapshot" export --quiet --from "127.0.0.1:$dyn_port" --out "$work/out.rdb"; t1=$(now)
row "export a live node as RDB (SCAN + DUMP + PEXPIRETIME)" "$t0" "$t1"
t0=$(now); "$BIN/dynamis-snapshot" export --quiet --from "127.0.0.1:$dyn_port" --out "$work/out.jsonl"; t1=$(now)
row "export a live node as JSON Lines" "$t0" "$t1"
t0=$(now); "$BIN/dynamis-snapshot" export --quiet --from "127.0.0.1:$redis_port" --out "$work/redis.rdb"; t1=$(now)
row "export redis-server as RDB (same tool, for comparison)" "$t0" "$t1"
kill "$dyn_pid"; wait "$dyn_pid" || true
t0=$(now); "$BIN/dynamis-snapshot" export --quiet --data-dir "$work/data" --out "$work/offline.rdb"; t1=$(now)
row "export offline (--data-dir of the stopped node)" "$t0" "$t1"
t0=$(now); "$BIN/dynamis-snapshot" import --quiet --data-dir "$work/bulk" "$work/src.rdb"; t1=$(now)
row "import offline (--data-dir, bulk load)" "$t0" "$t1"

# The yardstick: redis-server loading the same file at startup.
load_port=$(free_port)
cp "$work/src.rdb" "$work/load.rdb"
t0=$(now)
redis-server --port "$load_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --dbfilename load.rdb \
  --daemonize no >"$work/load.log" 2>&1 &
pids+=($!)
until [ "$(redis-cli -p "$load_port" INFO persistence 2>/dev/null | grep -c '^loading:0')" = 1 ]; do sleep 0.01; done
t1=$(now)
row "redis-server loading the same RDB at startup (yardstick)" "$t0" "$t1"

echo "| $N small keys | seconds | keys/s |"
echo "|---|---:|---:|"
printf '%s\n' "${rows[@]}"
