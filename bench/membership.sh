#!/usr/bin/env bash
# A join's cost to clients, and its stream rate: a 3-rack RocksDB cluster (release build,
# DC_QUORUM) loaded with KEYS keys of VALUE bytes; a fixed-rate probe's p99 through rack 1's
# node before the join, then again while a fourth node joins rack 1 and streams half the
# keys to itself (tools/cluster add-node). Same run, same load: the ratio is what counts.
#   bash bench/membership.sh        # KEYS=300000 VALUE=100 RATE=2000 SECONDS_PER_PROBE=5 by default
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-300000}
VALUE=${VALUE:-100}
RATE=${RATE:-2000}
SECONDS_PER_PROBE=${SECONDS_PER_PROBE:-5}
THROUGHPUT=${THROUGHPUT:-16777216}
swift build -c release --product dynamis >/dev/null
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/dynamis-bench-membership.XXXXXX)
base=$(python3 -c 'import random; print(30000 + 10 * random.randrange(0, 2000))')
cluster() { tools/cluster "$@" --dir "$work/cluster" --binary .build/release/dynamis; }
trap 'cluster down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cluster up --racks 3 --base-port "$base" --consistency DC_QUORUM --set "stream_throughput: $THROUGHPUT" >/dev/null
port=$((base + 2))

echo "loading $KEYS keys of $VALUE bytes"
python3 - "$KEYS" "$VALUE" >"$work/load.resp" <<'EOF'
import sys
keys, size = int(sys.argv[1]), int(sys.argv[2])
value = b"v" * size
out = sys.stdout.buffer
for i in range(keys):
    key = b"key:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, size, value))
EOF
redis-cli -p "$port" --pipe <"$work/load.resp" | tail -1

# p99 (ms) of SET and GET over the loaded keys at a fixed RATE (requests/s, half of each) for
# SECONDS: a probe that does not saturate the two cores, so the p99 is the requests', not
# the run queue's (redis-benchmark at full speed keeps every core busy, and then any extra
# process, the joining node's RocksDB included, shows in its p99).
p99() {
  python3 - "$port" "$KEYS" "$VALUE" "$RATE" "$SECONDS_PER_PROBE" <<'PY'
import random, socket, sys, time
port, keys, size, rate, seconds = (int(a) for a in sys.argv[1:])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = s.makefile("rb")
value = b"v" * size
lat = {"SET": [], "GET": []}
def call(parts):
    s.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
    line = f.readline()
    if line[:1] == b"$" and line[1:3] != b"-1":
        f.read(int(line[1:]) + 2)
    return line
start = time.perf_counter()
n = 0
while time.perf_counter() - start < seconds:
    due = start + n / rate
    now = time.perf_counter()
    if due > now: time.sleep(due - now)
    key = b"key:%d" % random.randrange(keys)
    op = "SET" if n % 2 == 0 else "GET"
    t = time.perf_counter()
    call([b"SET", key, value] if op == "SET" else [b"GET", key])
    lat[op].append((time.perf_counter() - t) * 1000)
    n += 1
for op in ("SET", "GET"):
    xs = sorted(lat[op])
    print(op, len(xs), "%.3f" % xs[int(len(xs) * 0.99)])
PY
}
echo "before the join (test requests p99_ms):"
p99 | tee "$work/before"

admin=$((base + 33))
started=$(date +%s.%N)
DYNAMIS_CHANGE_POLL=5 cluster add-node --rack rack1 --token 2147483648 >"$work/add.log" 2>&1 &
add=$!
until curl -s "http://127.0.0.1:$admin/topology" 2>/dev/null | grep -q '"stream_running" *: *1'; do
  kill -0 "$add" 2>/dev/null || { echo "the join ended before its stream was seen:"; cat "$work/add.log"; exit 1; }
  sleep 0.05
done
echo "during the join's stream:"
p99 | tee "$work/during"
streaming=$(curl -s "http://127.0.0.1:$admin/topology" | python3 -c 'import json, sys; print(json.load(sys.stdin)["stream_running"])')
wait "$add"
seconds=$(python3 -c "print(f'{$(date +%s.%N) - $started:.1f}')")
stats=$(curl -s "http://127.0.0.1:$admin/topology")
pulled=$(echo "$stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["stream_keys_pulled"])')
bytes=$(echo "$stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["stream_bytes_exchanged"])')
echo "join: $seconds s, $pulled keys pulled, $bytes bytes exchanged ($(python3 -c "print(f'{$pulled / $seconds:,.0f}')") keys/s);" \
  "the stream was $( [ "$streaming" = 1 ] && echo 'still running' || echo 'finished') when the benchmark ended"
paste "$work/before" "$work/during" | awk '{ printf "%s p99 ratio during/before: %.2f (%.3f ms / %.3f ms)\n", $1, $6 / $3, $6, $3 }'
