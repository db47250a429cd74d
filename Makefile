# SPDX-License-Identifier: MIT
#
# Thin wrapper around CMake/CTest. Quick start:
#   make demo     configure + build ./build, run the demo
#   make check    configure + build ./build, run every test
#   make asan     ASan+UBSan build in ./build-asan, run unit+stress tests
#   make tsan     TSan build in ./build-tsan, run unit+stress tests
#   make clang    clang build with -Werror in ./build-clang, run unit+stress
#                 tests (CLANG_CTEST_ARGS= runs every test)
#   make fuzz     the libFuzzer targets (clang, ASan+UBSan) in ./build-fuzz:
#                 tests/fuzz, doc/fuzzing.md says how to run them
#   make format   format every C file with .clang-format (clang-format 14)
#   make format-check  fail, naming the files, if one is not formatted
#   make bench    the benchmark suite (bench/suite.sh, ~12 min; not a test)
#   make bench-quick  the same in under 2 minutes (bench/suite.sh --quick)
#   make bench-latency  wake-up latency: grb's policies, perf, LTTng live
#                 (bench/latency.sh, ~25 min; not a test)
#   make bench-latency-quick  the same in about 5 minutes
#   make bench-xproc  a consumer process vs a consumer thread, and a real
#                 program under grb record and LTTng-UST (bench/xproc.sh,
#                 ~2 min; not a test; BENCH_ARGS=--smoke: seconds)
#   make bench-profile  the cost of sampling a program: grb profile vs
#                 perf record at 99 and 999 Hz on perl and zstd (bench/profile.sh,
#                 ~5 min; not a test; BENCH_ARGS=--smoke: seconds)
#   make bench-relay  streaming to lttng-relayd: grb record to disk and to a
#                 relay (with and without a live viewer) against LTTng-UST,
#                 throughput, losses and live delay (bench/relay.sh, ~5 min;
#                 not a test; BENCH_ARGS=--smoke: seconds)
#   make bench-kernel  the kernel's write fast path beside user space's in
#                 one VM: grb_bench.ko and bench_write under qemu TCG,
#                 booted 5 times, ns/event and their ratio (bench/kernel.sh,
#                 ~6 min; not a test; needs the kernel test's packages)
#   make soak     grb_soak for SECONDS (default 1800): writer processes
#                 exiting, killed and crashing, consumers detaching, killed
#                 and taken over, the accounting checked (doc/guarantees.md;
#                 not a test: CTest runs it for 50 s; SOAK_ARGS='--seed 7')
#   make kernel   grb.ko and grb_selftest.ko (the core as a Linux kernel
#                 module, and its self-test) in ./build-kernel, against
#                 KDIR (default: the running kernel's build tree); see
#                 doc/kernel.md.  `make check` boots them in a VM (test
#                 kernel_vm, label kernel)
#   make clean    remove the build directories
#   make          (= make build) configure + build ./build only
#
# Extra CMake arguments: make check CMAKE_ARGS=-DGRB_WERROR=ON
# Extra suite arguments: make bench BENCH_ARGS='--payloads 16 --runs 9'
# (also for bench-latency: make bench-latency BENCH_ARGS='--no-lttng')
#
# The tests run by check, asan and tsan go through cmake/run_ctest.sh: a
# test whose tool (spin, babeltrace2, ...) is missing installs it when run
# as root, and is skipped otherwise; the run then ends with the missing
# tools and the command that installs them, and fails only if a test
# failed.  NO_SKIP=1 (what .ci/run sets) makes any skipped test a failure.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

CMAKE      ?= cmake
CTEST      ?= ctest
JOBS       ?= 2
BUILD_TYPE ?= RelWithDebInfo
CMAKE_ARGS ?=
BENCH_ARGS ?=
NO_SKIP    ?= 0
SECONDS    ?= 1800
SOAK_ARGS  ?=

BUILD_DIR  ?= build
ASAN_DIR   ?= build-asan
TSAN_DIR   ?= build-tsan
CLANG_DIR  ?= build-clang
FUZZ_DIR   ?= build-fuzz
KERNEL_DIR ?= build-kernel
KDIR       ?=

CLANG_CC   ?= clang
CLANG_CXX  ?= clang++
CLANG_CTEST_ARGS ?= -L 'unit|stress'

ASAN_ENV ?= GRB_STRESS_SCALE=0.5 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
TSAN_ENV ?= GRB_STRESS_SCALE=0.25 \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
# Command prefix for running TSan binaries. Left empty, `make tsan` probes
# whether a trivial TSan program runs and falls back to
# `setarch $(uname -m) -R` (ASLR off) on "unexpected memory mapping".
TSAN_WRAP ?=

# configure + build a build dir: $(call build,<dir>,<extra cmake args>)
define build
$(CMAKE) -S . -B $(1) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(2) $(CMAKE_ARGS)
$(CMAKE) --build $(1) -j$(JOBS)
endef

# ctest on a build dir: $(call run_ctest,<dir>,<extra ctest args>)
RUN_CTEST = CTEST='$(CTEST)' GRB_NO_SKIP=$(NO_SKIP) sh cmake/run_ctest.sh
define run_ctest
$(RUN_CTEST) $(1) --output-on-failure -j$(JOBS) $(2)
endef

.PHONY: all build demo check asan tsan clang fuzz kernel format format-check bench bench-quick \
	bench-latency bench-latency-quick bench-xproc bench-profile bench-relay bench-kernel soak \
	clean

all: build

build:
	$(call build,$(BUILD_DIR),)

demo: build
	@if [ -x $(BUILD_DIR)/tools/grb ]; then \
		echo "+ ./$(BUILD_DIR)/tools/grb record"; \
		./$(BUILD_DIR)/tools/grb record; \
	elif [ -x $(BUILD_DIR)/examples/demo ]; then \
		echo "+ ./$(BUILD_DIR)/examples/demo"; \
		./$(BUILD_DIR)/examples/demo; \
	else \
		echo "demo: neither $(BUILD_DIR)/tools/grb nor $(BUILD_DIR)/examples/demo was built" >&2; \
		exit 1; \
	fi

check: build
	$(call run_ctest,$(BUILD_DIR))

asan:
	$(call build,$(ASAN_DIR),-DGRB_SANITIZE=address)
	env $(ASAN_ENV) $(call run_ctest,$(ASAN_DIR),-L 'unit|stress')

tsan:
	$(call build,$(TSAN_DIR),-DGRB_SANITIZE=thread)
	@wrap='$(TSAN_WRAP)'; \
	if [ -z "$$wrap" ]; then \
		cc=$$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' $(TSAN_DIR)/CMakeCache.txt); \
		printf 'int main(void){return 0;}\n' | \
			"$${cc:-cc}" -fsanitize=thread -x c - -o $(TSAN_DIR)/tsan-probe; \
		if ! $(TSAN_DIR)/tsan-probe >$(TSAN_DIR)/tsan-probe.log 2>&1; then \
			cat $(TSAN_DIR)/tsan-probe.log; \
			wrap="setarch $$(uname -m) -R"; \
			echo "tsan: trivial TSan program failed; running tests under '$$wrap'"; \
		fi; \
	fi; \
	echo "+ $$wrap env $(TSAN_ENV) $(call run_ctest,$(TSAN_DIR),-L 'unit|stress')"; \
	$$wrap env $(TSAN_ENV) $(call run_ctest,$(TSAN_DIR),-L 'unit|stress')

clang:
	$(call build,$(CLANG_DIR),-DCMAKE_C_COMPILER=$(CLANG_CC) -DCMAKE_CXX_COMPILER=$(CLANG_CXX) -DGRB_WERROR=ON)
	$(call run_ctest,$(CLANG_DIR),$(CLANG_CTEST_ARGS))

fuzz:
	$(CMAKE) -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
		-DCMAKE_C_COMPILER=$(CLANG_CC) -DCMAKE_CXX_COMPILER=$(CLANG_CXX) -DGRB_FUZZ=ON \
		$(CMAKE_ARGS)
	$(CMAKE) --build $(FUZZ_DIR) -j$(JOBS) --target fuzz_attach fuzz_session fuzz_chanfile

kernel:
	$(MAKE) -C kernel OUT=$(CURDIR)/$(KERNEL_DIR) $(if $(KDIR),KDIR=$(KDIR))

format:
	sh cmake/format.sh

format-check:
	sh cmake/format.sh --check

# Benchmarks are never part of `make check` or CI: they take minutes and
# their figures depend on the machine's load.  (`make check` runs only
# bench_latency --smoke, label bench-smoke: a few hundred events, no timing
# judged.)
bench:
	bench/suite.sh --build-dir $(BUILD_DIR) $(BENCH_ARGS)

bench-quick:
	bench/suite.sh --quick --build-dir $(BUILD_DIR) $(BENCH_ARGS)

bench-latency:
	bench/latency.sh --build-dir $(BUILD_DIR) $(BENCH_ARGS)

bench-latency-quick:
	bench/latency.sh --quick --build-dir $(BUILD_DIR) $(BENCH_ARGS)

bench-xproc:
	bench/xproc.sh --build-dir $(BUILD_DIR) $(BENCH_ARGS)

bench-profile:
	bench/profile.sh --build-dir $(BUILD_DIR) $(BENCH_ARGS)

bench-relay:
	bench/relay.sh --build-dir $(BUILD_DIR) $(BENCH_ARGS)

bench-kernel:
	bench/kernel.sh --build-dir $(BUILD_DIR) $(BENCH_ARGS)

# The soak test for a given time (doc/guarantees.md): a summary line a
# minute, exit status 1 on any accounting error.
soak: build
	./$(BUILD_DIR)/tests/soak/grb_soak --seconds $(SECONDS) \
		--dir $(BUILD_DIR)/tests/soak/soak-files $(SOAK_ARGS)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(CLANG_DIR) $(FUZZ_DIR) $(KERNEL_DIR)
