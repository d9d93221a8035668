# Dynamis: the README's two commands.
#   make run   installs what is missing, builds in release and starts a node on conf/dynamis.yml
#   make test  installs what is missing and runs the whole test suite
APT_PACKAGES := librocksdb-dev libsnappy-dev redis-server redis-tools memcached pkg-config openssl libmemcached-tools
CONFIG ?= conf/dynamis.yml
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test deps build release tools bench check-config clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
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
