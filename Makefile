# Front door. `make` builds release binaries into build/, `make test` builds
# with ASan+UBSan into build-test/ and runs every test, `make run` starts a
# single-node broker on 127.0.0.1:9092.
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
BUILD    ?= build
TBUILD   ?= build-test
FBUILD   ?= build-fuzz
CTEST_J  ?= 2
FUZZ_SECONDS ?= 60

.PHONY: all build deps run test test-long check-unit valgrind fuzz bench bench-quick clean format

all: build

deps:
	@scripts/install-deps build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@ln -sf $(BUILD)/compile_commands.json compile_commands.json

run: build
	./$(BUILD)/sluiced $(ARGS)

test:
	@scripts/install-deps test
	@cmake -S . -B $(TBUILD) -DCMAKE_BUILD_TYPE=Debug -DSL_SANITIZE=ON >/dev/null
	@cmake --build $(TBUILD) -j $(JOBS)
	@$(MAKE) --no-print-directory build
	cd $(TBUILD) && ctest --output-on-failure -j $(CTEST_J) -LE long $(CTEST_ARGS)
	@$(MAKE) --no-print-directory valgrind

# Unit tests once more under valgrind memcheck (no sanitizers in that build).
valgrind: build
	@tests/run-valgrind $(BUILD)

test-long:
	@scripts/install-deps test
	@cmake -S . -B $(TBUILD) -DCMAKE_BUILD_TYPE=Debug -DSL_SANITIZE=ON >/dev/null
	@cmake --build $(TBUILD) -j $(JOBS)
	@$(MAKE) --no-print-directory build
	cd $(TBUILD) && ctest --output-on-failure -L long $(CTEST_ARGS)

fuzz:
	@scripts/install-deps fuzz
	@CC=clang cmake -S . -B $(FBUILD) -DCMAKE_BUILD_TYPE=Debug -DSL_FUZZ=ON >/dev/null
	@cmake --build $(FBUILD) -j $(JOBS)
	@tests/fuzz/run-all $(FBUILD) $(FUZZ_SECONDS)

bench:
	@scripts/install-deps bench
	@$(MAKE) --no-print-directory build
	@bench/run $(BUILD)

# The whole benchmark in seconds (small counts, one round): checks the runner.
bench-quick:
	@scripts/install-deps bench
	@$(MAKE) --no-print-directory build
	@bench/run $(BUILD) --quick --out $(BUILD)/bench-results

clean:
	rm -rf $(BUILD) $(TBUILD) $(FBUILD) compile_commands.json

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i
