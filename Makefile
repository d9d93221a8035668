# Dynamis: the README's two commands.
#   make run   installs what is missing, builds in release and starts a node on conf/dynamis.yml
#   make test  installs what is missing and runs the whole test suite
APT_PACKAGES := librocksdb-dev libsnappy-dev redis-server redis-tools memcached pkg-config openssl libmemcached-tools \
  iproute2 iptables
CONFIG ?= conf/dynamis.yml
REDIS_PY := .build/redis-py
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test deps build release tools bench check-config clean fuzz

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@# redis-py 5 (PyPI) for the real-client test, in a venv of its own under .build.
	@$(REDIS_PY)/bin/python -c 'import redis, sys; sys.exit(redis.__version__.split(".")[0] != "5")' 2>/dev/null || \
	  { python3 -m venv $(REDIS_PY) && $(REDIS_PY)/bin/pip install -q 'redis>=5,<6'; } || \
	  echo "redis-py 5 could not be installed: RedisPyClientTests will skip"
	@# Debian's packages may start the daemons; tests start their own on free ports.
	@command -v systemctl >/dev/null 2>&1 && $(SUDO) systemctl disable --now redis-server memcached >/dev/null 2>&1 || true

release: deps
	swift build -c release --product dynamis

tools: deps
	swift build -c release --product dynamis-snapshot

run: release
	./.build/release/dynamis -c $(CONFIG)

check-config: release
	./.build/release/dynamis -t -c $(CONFIG)

test: deps
	swift build --build-tests
	swift test --skip-build

BENCH_PACKAGES := nutcracker

bench: deps
	@missing=""; for p in $(BENCH_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi
	bash bench/run.sh
	bash bench/collections.sh
	bash bench/proxies.sh
	bash bench/cluster.sh
	bash bench/snapshot.sh
	bash bench/tls.sh

clean:
	rm -rf .build

# libFuzzer targets (FuzzTesting/, a package of its own): each runs FUZZ_SECONDS on a working copy
# of its corpus; a crasher lands in FuzzTesting/Crashes/ (commit it into FuzzTesting/Corpus/<target>
# so the suite replays it). FuzzStoredRecords keeps a RocksDB engine across inputs: the per-input
# leak check would scan its memtable's heap (70 inputs/s), and ASan's malloc stacks and memcmp/TLS
# interceptors cost it a fifth of its rate inside RocksDB, whose own code is not what it fuzzes.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := FuzzRESPRequest FuzzMemcachedRequest FuzzPeerFrame FuzzRESPReply FuzzRDB FuzzDumpPayload FuzzJSONLines \
  FuzzStoredRecords FuzzConfig
fuzz: deps
	swift build -c release --package-path FuzzTesting -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	@mkdir -p FuzzTesting/Crashes
	@for t in $(FUZZ_TARGETS); do \
	  work=FuzzTesting/.build/corpus/$$t; mkdir -p $$work; cp FuzzTesting/Corpus/$$t/* $$work/ 2>/dev/null || true; \
	  echo "== $$t"; extra=""; asan=""; \
	  if [ $$t = FuzzStoredRecords ]; then \
	    extra="-detect_leaks=0"; asan="malloc_context_size=0:intercept_memcmp=0:intercept_tls_get_addr=0"; \
	  fi; \
	  ASAN_OPTIONS=$$asan FuzzTesting/.build/release/$$t $$work $$extra -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 \
	    -artifact_prefix=FuzzTesting/Crashes/$$t- -print_final_stats=1 > FuzzTesting/.build/$$t.log 2>&1; status=$$?; \
	  grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' FuzzTesting/.build/$$t.log; \
	  [ $$status = 0 ] || { echo "$$t failed: see FuzzTesting/.build/$$t.log and FuzzTesting/Crashes"; exit 1; }; \
	done
