# The front door. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
JOBS ?= 2
BUILD_DIR ?= build
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure
space := $(subst ,, )

.PHONY: release bench all deps build test unit integration demo cluster-up cluster-down clean sync-manifests \
        asan asan-ci demo-loop tsan sanitizers help fuzz fuzz-long fuzz-build drills control-plane tools kind-tools test-k8s

all: build

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

deps: ## install Debian packages the build, tests and control plane need (idempotent)
	@bash scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja ## build every executable into build/bin/
	cmake --build $(BUILD_DIR) -j $(JOBS)

# K8S_VERSION selects the Kubernetes release (tools/kubernetes/; default the newest).
control-plane: ## build (once, cached by version) kube-apiserver, kube-controller-manager, kubectl and etcd from Go modules
	@bash scripts/build-tools.sh kubernetes >/dev/null
	@bash scripts/build-tools.sh etcd >/dev/null

tools: control-plane ## control-plane, plus helm and prometheus (each built once from its Go module, cached)
	@bash scripts/build-tools.sh helm >/dev/null
	@bash scripts/build-tools.sh prometheus >/dev/null

kind-tools: tools ## tools, plus kind and every Kubernetes component a kind node needs
	@bash scripts/build-tools.sh kubernetes all >/dev/null
	@bash scripts/build-tools.sh kind >/dev/null

cluster-up: build control-plane ## start the local control plane; admin kubeconfig in .local/kubeconfig
	@bash scripts/cluster.sh up

cluster-down: ## stop the demo (if running) and exactly what cluster-up started; remove its state
	@bash scripts/demo.sh stop
	@bash scripts/cluster.sh down

unit: build ## unit tests only (no cluster)
	cd $(BUILD_DIR) && ctest -L unit -j $(JOBS) $(CTEST_FLAGS)

integration: build tools ## integration tests on a local control plane the run brings up
	cd $(BUILD_DIR) && ctest -L integration $(CTEST_FLAGS)

# The version matrix: the whole integration suite on another supported release, e.g.
# `make test-k8s K8S_VERSION=1.34.x`; a summary line goes to build/k8s-<version>.result.
test-k8s: build ## the integration suite on the control plane K8S_VERSION selects (default the newest)
	@$(MAKE) --no-print-directory tools
	bash scripts/test-k8s.sh $(BUILD_DIR)

# The sanitizer runs cover what they can find in CI's time: TSan the concurrency-labelled
# tests, ASan+UBSan every unit test and the operator's integration suite (asan-ci); `make asan`
# runs every unit and integration suite under ASan+UBSan.
test: build tools ## everything CI runs: the suite (drills reduced), a short fuzz run, TSan, and ASan+UBSan on the unit tests and the operator's integration suite
	cd $(BUILD_DIR) && ctest -L unit -j $(JOBS) $(CTEST_FLAGS)
	cd $(BUILD_DIR) && ctest -LE unit $(CTEST_FLAGS)
	$(MAKE) fuzz
	$(MAKE) tsan
	$(MAKE) asan-ci

drills: build tools ## the full drill suite (every scenario, DRILL_OPERATOR_KILLS=50); results in build/drills/
	cd $(BUILD_DIR) && DRILL_SET=full DRILL_OPERATOR_KILLS=$${DRILL_OPERATOR_KILLS:-50} ctest -L drill $(CTEST_FLAGS)

demo: cluster-up ## the local cluster with the operator and a live failover demo
	@bash scripts/demo.sh

demo-loop: build control-plane ## make demo DEMO_RUNS times in a row (default 20), each on a fresh cluster; count in build/demo-loop/result
	@bash scripts/demo-loop.sh $${DEMO_RUNS:-20}

# Left out for CI's time (the plain run has them): bench-smoke, and the engine's random
# property search (Property.*, over 10x slower under ASan; the engine runs under ASan in its unit
# tests and every operator integration test).
asan: deps tools ## unit and integration suites under ASan+UBSan (bench smoke, Property.* aside)
	cmake -S . -B build-asan -G Ninja -DFO_SANITIZE=address,undefined $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS)
	cd build-asan && UBSAN_OPTIONS=print_stacktrace=1 ctest -L 'unit|integration' -LE bench -E '^Property\.' $(CTEST_FLAGS)

# CI's share of ASan+UBSan: only the unit test binaries and the operator's integration suite
# (the operator, node agent, service proxy and demo app under ASan, on the test cluster, with
# real traffic) are built; the other integration suites run under ASan in `make asan`.
ASAN_CI_TESTS ?= failover_operator_integration_test
asan-ci: deps tools ## ASan+UBSan: every unit test (Property.* aside) and the operator's integration suite
	cmake -S . -B build-asan -G Ninja -DFO_SANITIZE=address,undefined $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS) --target unit_tests $(ASAN_CI_TESTS)
	cd build-asan && UBSAN_OPTIONS=print_stacktrace=1 ctest -L unit -E '^(Property\.|ship_)' -j $(JOBS) $(CTEST_FLAGS)
	cd build-asan && UBSAN_OPTIONS=print_stacktrace=1 ctest -R '^(cluster_up|cluster_down|$(subst $(space),|,$(ASAN_CI_TESTS)))$$' $(CTEST_FLAGS)

# Only what the concurrency-labelled tests need is built under TSan (build time in CI):
# concurrency_tests depends on every test registered with LABELS concurrency.
TSAN_TARGETS ?= concurrency_tests
tsan: deps ## concurrency tests under ThreadSanitizer
	cmake -S . -B build-tsan -G Ninja -DFO_SANITIZE=thread $(CMAKE_FLAGS)
	cmake --build build-tsan -j $(JOBS) --target $(TSAN_TARGETS)
	cd build-tsan && ctest -L concurrency $(CTEST_FLAGS)

FUZZ_DIR ?= build-fuzz
fuzz-build: deps
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DFO_FUZZ=ON \
	    -DBUILD_TESTING=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzzers

fuzz: fuzz-build ## libFuzzer targets, a short run (FUZZ_SECONDS per target, default 20)
	bash tests/fuzz/run.sh $(FUZZ_DIR) short

fuzz-long: fuzz-build ## libFuzzer targets, FUZZ_RUNS executions each (default 1,000,000)
	bash tests/fuzz/run.sh $(FUZZ_DIR) long

bench: build control-plane ## benchmarks on their own cluster: table, docs/bench-results.json, docs/bench-latency.png
	FO_BIN_DIR=$(abspath $(BUILD_DIR))/bin bash bench/run.sh

# RELEASE_FLAGS: e.g. --skip-image (docs/releasing.md).
release: build ## a release's steps to build/release/ and the local Docker engine (scripts/release.sh; nothing is pushed)
	rm -rf $(BUILD_DIR)/release
	bash scripts/release.sh --out $(BUILD_DIR)/release --bin-dir $(BUILD_DIR)/bin $(RELEASE_FLAGS)

sync-manifests: ## copy crds/ and the alerts/dashboard into manifests/ and the chart
	@bash scripts/sync-manifests.sh

clean: ## remove build trees (the cache of built tools stays)
	rm -rf $(BUILD_DIR) build-asan build-tsan $(FUZZ_DIR)
