# The README's two commands are `make demo` and `make test`; both install what is missing first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test test-slow unit-test demo bench format clean guest guest-paths fuzz \
	test-tsan test-sanitize

all: build

deps:
	@tools/deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/build.ninja

build: deps configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Guest kernels and initramfs for the VM tests and the demo (guest/README.md); cached under
# /var/cache/vessel/guest, so this takes seconds once built.
guest: deps
	nice -n 5 guest/build.sh >/dev/null

guest-paths:
	@guest/paths.sh

# Every test: unit tests and the integration tests that run real containers and VMs (root).
test: build guest
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

# Only the slowest test (label `slow`): the riscv64 Debian VM built and booted (about two minutes
# on a warm image cache, 12 on a cold one). `make test` runs it too.
test-slow: build guest
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L slow

unit-test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L unit -j $(JOBS)

demo: build guest
	tools/demo.sh $(BUILD_DIR)

bench: build
	bench/run-all.sh $(BUILD_DIR)

# libFuzzer over every parser and device (tests/fuzz): a clang build of only the fuzz targets in
# $(FUZZ_DIR), then each target for FUZZ_SECONDS on its corpus; new inputs and crashes go to
# $(FUZZ_DIR)/fuzz-scratch. clang 19: libstdc++ 12's <expected> needs what older clangs lack.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DVESSEL_FUZZ=libfuzzer \
		-DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_targets
	tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_DIR)/fuzz-scratch

# ThreadSanitizer over the tests of everything that runs on several threads at once: SMP harts on
# the interpreter and the translator (shared memory, LR/SC, TLB shootdowns, code invalidation),
# the board's devices, the I/O thread's event loop and the virtio devices it serves; then vesseld
# and its monitors through the daemon's crash test (ten concurrent launches, kill -9 among them,
# restarts that re-attach), and its HTTPS listener, TLS relays, trust store and WebSockets through
# the manager's unit tests and the remote test (the CLI's pinned relay included), with the plain
# build's vessel-runc and vessel-vmm. A g++ build of only those targets in $(TSAN_DIR); a report
# fails the run. Races on guest RAM are the guest's (tests/tsan.supp says
# why) and suppressed; races on the VMM's or the daemon's own data are not.
TSAN_DIR ?= build-tsan
TSAN_TESTS = riscv_hart_test riscv_board_test vm_virtio_test vm_devices_test manager_test
TSAN_OPTIONS = halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp
test-tsan: build
	cmake -S . -B $(TSAN_DIR) -G Ninja -DVESSEL_SANITIZE=thread
	cmake --build $(TSAN_DIR) -j $(JOBS) --target $(TSAN_TESTS) vesseld vessel
	for test in $(TSAN_TESTS); do \
		TSAN_OPTIONS=$(TSAN_OPTIONS) $(TSAN_DIR)/tests/unit/$$test || exit 1; \
	done
	for test in riscv_hart_test riscv_board_test; do \
		VESSEL_TEST_ENGINE=jit TSAN_OPTIONS=$(TSAN_OPTIONS) $(TSAN_DIR)/tests/unit/$$test || exit 1; \
	done
	rm -rf $(TSAN_DIR)/daemon-reports && mkdir $(TSAN_DIR)/daemon-reports
	for test in daemon_crash_e2e remote_e2e; do \
		TSAN_OPTIONS=$(TSAN_OPTIONS):log_path=$(CURDIR)/$(TSAN_DIR)/daemon-reports/report \
		VESSEL_TEST_RUNTIME=$(CURDIR)/$(BUILD_DIR)/src/cli/vessel-runc \
		VESSEL_TEST_VMM=$(CURDIR)/$(BUILD_DIR)/src/cli/vessel-vmm \
		tests/integration/manager/$$test.sh $(TSAN_DIR)/src/cli/vessel $(TSAN_DIR)/src/cli/vesseld \
		|| exit 1; \
	done
	@! ls $(TSAN_DIR)/daemon-reports/report.* 2>/dev/null || \
		{ cat $(TSAN_DIR)/daemon-reports/report.*; echo "ThreadSanitizer reported the above"; exit 1; }

# The whole suite, unit and integration tests, on a g++ build of the whole tree with
# AddressSanitizer and UndefinedBehaviorSanitizer in $(SANITIZE_DIR): any report fails the test
# that caused it. The executables shipped static link dynamically there (CMakeLists.txt says why).
SANITIZE_DIR ?= build-sanitize
SANITIZE_ENV = ASAN_OPTIONS=abort_on_error=0:detect_stack_use_after_return=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
test-sanitize: deps guest
	cmake -S . -B $(SANITIZE_DIR) -G Ninja -DVESSEL_SANITIZE=address
	cmake --build $(SANITIZE_DIR) -j $(JOBS)
	$(SANITIZE_ENV) ctest --test-dir $(SANITIZE_DIR) --output-on-failure -j $(JOBS)

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
