# hegui — the two commands of README.md, and the targets around them.
#   make run    installs what is missing, builds build/hegui, runs the tour on the embedded defaults
#   make test   installs what is missing, builds with ASan+UBSan and runs every test (CTest)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build run test deps deps-test bench fuzz format clean model

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j $(JOBS) --target hegui sample_upstream

run: build
	@examples/tour.sh build

test: deps-test
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHG_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure -j $(JOBS)

bench:
	@scripts/install-deps.sh bench
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DHG_BENCH=ON >/dev/null
	@cmake --build build-bench -j $(JOBS)
	@bench/run.sh build-bench
	@bench/gateway.sh build-bench
	@python3 bench/ttfb.py build-bench
	@python3 tools/eval/classifier_eval.py --hegui build-bench/hegui

# the default classifier, rebuilt from ../shared/data (tools/models/, docs/classifier.md "The default model")
model: build
	@tools/models/build_model.sh build/hegui

fuzz: deps-test
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DHG_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@fuzz/run.sh build-fuzz

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-bench build-fuzz
