#!/usr/bin/env bash
# TLS's cost: one Dynamis node (release build, RocksDB engine) serving the same data on its
# plaintext port and its TLS port (tls_auth_clients no, so redis-benchmark needs only the CA),
# redis-benchmark SET/GET at -P 1 and -P 16 against each, alternating, in the same run.
#   bash bench/tls.sh                  # ROUNDS=3 N=100000 by default
# Prints ops/s, the node's CPU µs per operation, and TLS / plaintext ratios (medians).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
N=${N:-100000}
CLIENTS=${CLIENTS:-50}
swift build -c release --product dynamis >/dev/null
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/dynamis-bench-tls.XXXXXX)
bash tools/tls-certs "$work/tls" node >/dev/null
port=$(free_port); tls_port=$(free_port)
cat >"$work/dynamis.yml" <<YAML
dyn_o_mite:
  listen: 127.0.0.1:$port
  stats_listen: 127.0.0.1:$(free_port)
  tls_port: $tls_port
  tls_cert_file: $work/tls/node.crt
  tls_key_file: $work/tls/node.key
  tls_ca_cert_file: $work/tls/ca.crt
  tls_auth_clients: no
  data_store: rocksdb
  data_dir: $work/data
YAML
.build/release/dynamis -c "$work/dynamis.yml" >"$work/dynamis.log" 2>&1 &
pid=$!
pids+=($!)
wait_port "$port"

# "rps cpu_us_per_op" for one redis-benchmark test.
run() {
  local test=$1 pipeline=$2 extra=$3 target=$4 before after rps
  before=$(cpu_ticks "$pid")
  rps=$(redis-benchmark -p "$target" $extra -t "$test" -n "$N" -c "$CLIENTS" -d 64 -r 100000 -P "$pipeline" --csv 2>/dev/null \
    | python3 -c 'import csv, sys; rows = list(csv.reader(sys.stdin)); print(dict(zip(rows[0], rows[1]))["rps"])')
  after=$(cpu_ticks "$pid")
  echo "$rps $(python3 -c "print(f'{($after - $before) * $TICK_US / $N:.2f}')")"
}

echo "| test | pipeline | plaintext ops/s | TLS ops/s | TLS / plaintext | plaintext CPU µs/op | TLS CPU µs/op |"
echo "|---|---|---|---|---|---|---|"
for pipeline in 1 16; do
  for test in set get; do
    plain_rps=(); tls_rps=(); plain_cpu=(); tls_cpu=()
    for _ in $(seq 1 "$ROUNDS"); do
      read -r r c < <(run "$test" "$pipeline" "" "$port"); plain_rps+=("$r"); plain_cpu+=("$c")
      read -r r c < <(run "$test" "$pipeline" "--tls --cacert $work/tls/ca.crt" "$tls_port"); tls_rps+=("$r"); tls_cpu+=("$c")
    done
    p=$(median "${plain_rps[@]}"); t=$(median "${tls_rps[@]}")
    echo "| ${test^^} | $pipeline | $p | $t | $(python3 -c "print(f'{$t / $p:.2f}')") | $(median "${plain_cpu[@]}") | $(median "${tls_cpu[@]}") |"
  done
done
