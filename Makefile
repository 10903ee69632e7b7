# dwcp-federation: the front door. `make run` runs the operator on a local control plane (or the
# cluster of $KUBECONFIG); `make test` runs every test CI runs.
SHELL := /bin/bash
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
REGION ?= us-east-1

.PHONY: all deps tools configure build test unit-test e2e-test run bench-runtime clean help test-asan test-tsan lint lint-changed

all: build

help:
	@echo "make run            install what is missing, build, run the operator (local control plane unless KUBECONFIG is set)"
	@echo "make test           every test: unit tests (ctest), integration tests on a real kube-apiserver, then test-asan and test-tsan"
	@echo "make build          build/bin/dwcp-operator"
	@echo "make unit-test      unit tests only"
	@echo "make e2e-test       integration tests only"
	@echo "make test-asan      unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)"
	@echo "make test-tsan      runtime and controller unit tests under ThreadSanitizer (build-tsan/)"
	@echo "make lint           clang-tidy (.clang-tidy) on every C++ source (~20 min on 2 cores)"
	@echo "make lint-changed   clang-tidy on the sources changed since LINT_BASE (default HEAD~1); part of make test"
	@echo "make bench-runtime  cold-start benchmark (10,000 VMPlacements)"
	@echo "make bench-federation  three local regions: create-to-remote-workload beside its ceiling, remote status lag, CPU, RSS"

deps:
	@bash hack/install-deps.sh

tools:
	@bash hack/build-tools.sh >/dev/null

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	ninja -C $(BUILD_DIR) -j $(JOBS)

unit-test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

e2e-test: build tools
	bash e2e/run.sh

# Every test CI runs: the unit tests, clang-tidy on what the last commit changed, the integration
# tests, then the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer and the
# runtime's and controllers' under ThreadSanitizer (their own build directories; ~25 min of the
# first run's build time).
test: unit-test lint-changed e2e-test test-asan test-tsan

# clang-tidy: make lint checks every source; make lint-changed those changed since LINT_BASE.
LINT_BASE ?= HEAD~1
lint: configure
	bash hack/lint.sh

lint-changed: configure
	bash hack/lint.sh --changed $(LINT_BASE)

# Sanitizer builds live beside the normal one; `unit-tests` builds only what ctest runs.
build-asan/build.ninja:
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDWCP_SANITIZE=address,undefined

test-asan: deps build-asan/build.ninja
	ninja -C build-asan -j $(JOBS) unit-tests
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/hack/lsan.supp \
	  ctest --output-on-failure -j $(JOBS) --timeout 600

build-tsan/build.ninja:
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDWCP_SANITIZE=thread

test-tsan: deps build-tsan/build.ninja
	ninja -C build-tsan -j $(JOBS) dwcp_kube_test dwcp_controllers_test dwcp_net_test dwcp_federation_test
	for t in kube controllers net federation; do \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/hack/tsan.supp" \
	    build-tsan/bin/dwcp_$${t}_test || exit 1; \
	done

run: build tools
	REGION=$(REGION) BUILD_DIR=$(BUILD_DIR) bash hack/run.sh

bench-runtime: build tools
	bash bench/cold_start.sh

clean:
	rm -rf $(BUILD_DIR)

# The engine benchmark as JSON, then create-to-Placed end to end on a local control plane
# (bench/placement_e2e.sh; smaller runs with N=1000 RATE=50 DURATION=10).
.PHONY: bench-placement
bench-placement: build tools
	$(BUILD_DIR)/bin/bench_placement --benchmark_format=json
	BUILD_DIR=$(BUILD_DIR) bash bench/placement_e2e.sh

# Issue 4: merge throughput, wire bytes and healing (Google Benchmark, JSON), then five replicas
# over the mutual-TLS transport with 50 ms injected latency (JSON).
.PHONY: bench-state
bench-state: build
	$(BUILD_DIR)/bin/bench_state --benchmark_format=json
	BUILD_DIR=$(BUILD_DIR) bash bench/state_sync.sh

# Routing (issue 5): in-process decisions (Google Benchmark), then HTTP throughput beside nginx
# (wrk) and the flood test.
.PHONY: bench-routing
bench-routing: build
	$(BUILD_DIR)/bin/bench_routing --benchmark_format=json
	BUILD_DIR=$(BUILD_DIR) bash bench/routing_http.sh

# Three local regions (hack/federation.sh): create at home -> workload in another region at RATE/s
# for DURATION s beside the same driver's ceiling, remote-status lag, operator CPU and RSS.
.PHONY: bench-federation
bench-federation: build tools
	BUILD_DIR=$(BUILD_DIR) bash bench/federation.sh
