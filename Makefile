# `make run` and `make test` work as root on a fresh Debian 12 machine with Swift installed:
# each installs the system packages it is missing first.

SHELL := /bin/bash
RUN_PACKAGES := libuv1-dev libsqlite3-dev zlib1g-dev libssl-dev libhiredis-dev pkg-config
TEST_PACKAGES := $(RUN_PACKAGES) python3 curl redis-server
PORT ?= 8080

.PHONY: run test test-tsan test-asan build deps test-deps benchmark clean cluster fuzz fuzz-smoke llhttp-decisions docs

deps:
	@bash scripts/apt-ensure.sh $(RUN_PACKAGES)

test-deps:
	@bash scripts/apt-ensure.sh $(TEST_PACKAGES)

build: deps
	swift build -c release --product TicTacToe

# Channel Tac Toe on http://localhost:$(PORT); games in courier-data/tictactoe.sqlite (created on
# first start), secrets beside it.
run: build
	.build/release/TicTacToe --port $(PORT)

# Channel Tac Toe on three nodes behind nginx (round-robin, no sticky sessions), channels in
# Redis: http://localhost:$(PORT). Kill a node mid-game and play on; see scripts/cluster.sh.
cluster: build
	@bash scripts/apt-ensure.sh redis-server nginx
	PORT=$(PORT) bash scripts/cluster.sh

test: test-deps
	swift build --build-tests
	# Serial: several suites assert timeouts to a few hundred milliseconds, which parallel
	# suites on a 2-core machine can starve.
	swift test --skip-build --no-parallel
	# The documentation builds without a DocC warning, every public symbol has a doc comment and
	# every snippet compiles (no lock of its own: whoever runs `make test` holds it).
	COURIER_BUILD_LOCK= bash scripts/docs.sh
	# An app depending on Courier by URL and version builds and serves (no unsafe flags).
	bash Tests/consumer/run.sh
	python3 Tests/websocket-conformance/conformance.py --server .build/debug/Echo
	# permessage-deflate again with each connection's own zlib streams (context takeover).
	python3 Tests/websocket-conformance/conformance.py --server .build/debug/Echo --server-arg=--context-takeover \
		--filter 12 --filter 13 --summary ''
	ECHO_BIN=.build/debug/Echo CHAT_BIN=.build/debug/Chat TICTACTOE_BIN=.build/debug/TicTacToe bash Tests/interop/run.sh
	CHANNELNODE_BIN=.build/debug/ChannelNode TICTACTOE_BIN=.build/debug/TicTacToe bash Tests/cluster/run.sh
	# docs/deploy as shipped: nginx terminating TLS (test CA) in front of Tic Tac Toe started as
	# courier.service starts it, two Chromiums playing over https:// and wss://, then long-polling.
	TICTACTOE_BIN=.build/debug/TicTacToe bash Tests/deploy/run.sh
	# The soak's short mode (about 2.5 min): 600 channel clients on two nodes through a fault proxy,
	# resets, stalls, garbage, SIGTERM and SIGKILL; fails on any loss, gap, crash, leak or unexpected
	# warning. `bash Benchmarks/soak/run.sh long` is the 30-minute run behind Benchmarks/RESULTS.md.
	CHANNELNODE_BIN=.build/debug/ChannelNode bash Benchmarks/soak/run.sh short
	# Every libFuzzer target for a few seconds on its seeds: one that no longer builds or
	# crashes at once fails here (whoever runs `make test` holds the build lock, if any).
	COURIER_BUILD_LOCK= bash scripts/fuzz.sh --smoke

# Every Swift test under ThreadSanitizer (its own build folder); any report fails the run.
# Locks are pthread mutexes TSan can see (CourierLoop's `Locked`), so what it reports is real.
test-tsan: test-deps
	swift build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS="halt_on_error=1 abort_on_error=1" swift test --skip-build --no-parallel --sanitize=thread \
		--scratch-path .build-tsan

# Every Swift test under AddressSanitizer, and the C code under it (libuv's shim, BoringSSL,
# SQLite's wrapper) also under UndefinedBehaviorSanitizer: swiftc has no `-sanitize=undefined`
# on Linux (Swift code traps on overflow and out-of-bounds access by itself), so UBSan reaches
# the C compiler through -Xcc and the link through the clang linker. Its own build folder; any
# report stops the run. Leak detection is off: the Swift runtime's metadata caches live for the
# whole process and LeakSanitizer reports them at exit; memory a connection leaves behind is
# caught by the tests that watch RSS and open descriptors instead.
ASAN_FLAGS := --sanitize=address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined \
	-Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined --scratch-path .build-asan
test-asan: test-deps
	swift build --build-tests $(ASAN_FLAGS)
	ASAN_OPTIONS="detect_leaks=0 halt_on_error=1 abort_on_error=1" UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1" \
		swift test --skip-build --no-parallel $(ASAN_FLAGS)

# The DocC documentation of every public module as one static site in docs-site/; fails on any
# DocC warning, an undocumented public symbol or an article snippet that does not compile.
# `python3 -m http.server -d docs-site 8000`, then http://localhost:8000/documentation/courier.
docs: deps
	bash scripts/docs.sh

benchmark: deps
	Benchmarks/http/run.sh

clean:
	rm -rf .build

# Every libFuzzer target (Tests/fuzz) for FUZZ_SECONDS each, built with ASan in .build-fuzz;
# `make fuzz FUZZ_SECONDS=1800` for a long run. A crash stops it with the input's path.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

# Each target for about 5 s on its seeds and what it finds meanwhile: a target that no
# longer builds, or crashes at once, fails. For `make test`, so it takes no build lock of its
# own (whoever runs `make test` holds it); `make fuzz` does.
fuzz-smoke: deps
	COURIER_BUILD_LOCK= bash scripts/fuzz.sh --smoke

# llhttp's (Node's parser's) decisions over the FuzzHTTPParser corpus, recorded in
# Tests/fuzz/llhttp-decisions.json for LLHTTPDifferentialTests; run after changing the corpus
# (python3 Tests/fuzz/seeds.py). Needs Debian's nodejs, installed here if missing.
llhttp-decisions:
	@bash scripts/apt-ensure.sh nodejs
	node scripts/llhttp-decisions.js
