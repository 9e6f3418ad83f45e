# p2pgrid — the two commands: `make demo` and `make test`.
# Everything else is plain CMake (presets in CMakePresets.json).

.PHONY: all demo test bench build release fuzz bootstrap clean deb deb-check

JOBS ?= $(shell nproc 2>/dev/null || echo 2)

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake --preset test >/dev/null
	@cmake --build --preset test -j $(JOBS)

release: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# Run the main job: a whole community grid for a day on the embedded node
# (real channels, transfers, milestones), ending in out/demo/report.html.
demo: release
	@./build/release/p2pgrid demo

# Every test: unit, fuzz corpora as regression tests, integration, interop.
test: build
	@ctest --preset test

# Numbers only, never pass/fail on time.
bench: release
	@bench/run

# libFuzzer targets (clang); run one with e.g. build/fuzz/fuzz/fuzz_message -max_total_time=60
fuzz: bootstrap
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)

# The Debian package (debian/): the release build with Debian's hardening
# flags, man pages from --help, systemd units; left in build/pkg/.
deb:
	@scripts/bootstrap --apt-only # the package needs no npm test dependencies
	@dpkg-checkbuilddeps
	@rm -f debian/debhelper-build-stamp # rebuild what changed (ninja), man pages too
	@debian/rules binary

# Checks the package: contents, lintian, then installs it here, runs it and
# purges it again (needs root: CI).
deb-check: deb
	@packaging/check-deb build/pkg

clean:
	rm -rf build
