# The README's two commands are `make demo` and `make test`; both install what is missing first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test test-slow unit-test demo bench format clean guest guest-paths fuzz

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

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
