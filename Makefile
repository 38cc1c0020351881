# The README's two commands are `make demo` and `make test`; both install what is missing first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test test-slow unit-test demo bench format clean guest guest-paths fuzz \
	test-tsan

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
# the board's devices, the I/O thread's event loop and the virtio devices it serves. A g++ build
# of only those tests in $(TSAN_DIR); a report fails the run. Races on guest RAM are the guest's
# (tests/tsan.supp says why) and suppressed; races on the VMM's own data are not.
TSAN_DIR ?= build-tsan
TSAN_TESTS = riscv_hart_test riscv_board_test vm_virtio_test vm_devices_test
TSAN_OPTIONS = halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp
test-tsan: deps
	cmake -S . -B $(TSAN_DIR) -G Ninja -DVESSEL_SANITIZE=thread
	cmake --build $(TSAN_DIR) -j $(JOBS) --target $(TSAN_TESTS)
	for test in $(TSAN_TESTS); do \
		TSAN_OPTIONS=$(TSAN_OPTIONS) $(TSAN_DIR)/tests/unit/$$test || exit 1; \
	done
	for test in riscv_hart_test riscv_board_test; do \
		VESSEL_TEST_ENGINE=jit TSAN_OPTIONS=$(TSAN_OPTIONS) $(TSAN_DIR)/tests/unit/$$test || exit 1; \
	done

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
