# ZiggyAlloc for Swift — the two commands a newcomer needs:
#
#   make test    install what is missing, build, run every test: unit tests (hugetlb tests reserve
#                pages when root), a quick ziggy-bench run checking its output, the same suite under
#                AddressSanitizer and ThreadSanitizer, and the multi-node NUMA tests inside 2- and
#                4-node qemu VMs
#   make bench   build ziggy-bench in release mode and benchmark the backends on this host,
#                writing bench-results/ (markdown, JSON, CSV, SVG)
#
# Needs Linux, Swift 6.x and apt (Debian/Ubuntu). Installing packages needs root or passwordless sudo.

SHELL := /bin/bash
SWIFT ?= swift
# Packages the build needs (the NUMA VM runner installs qemu, cpio and a Debian kernel itself).
APT_PACKAGES := libnuma-dev pkg-config
BENCH_ARGS ?=
BENCH_HUGEPAGES ?= 600
BENCH_1G_PAGES ?= 3

.PHONY: all deps build test test-unit test-bench-cli test-sanitizers test-asan test-tsan test-numa bench clean

all: build

deps:
	@missing=""; \
	[ -r /usr/include/numa.h ] || missing="$$missing libnuma-dev"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	  else echo "make: missing$$missing; install with: sudo apt-get install -y$$missing" >&2; exit 1; fi; \
	  echo "make: installing$$missing" >&2; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$sudo apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $$missing >/dev/null 2>&1 || \
	  { $$sudo apt-get -q update >/dev/null && \
	    $$sudo apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $$missing; } || \
	  { echo "make: apt-get install$$missing failed" >&2; exit 1; }; \
	fi

build: deps
	$(SWIFT) build

test: deps
	$(MAKE) test-unit
	$(MAKE) test-bench-cli
	$(MAKE) test-sanitizers
	$(MAKE) test-numa

test-unit:
	$(SWIFT) build --build-tests
	$(SWIFT) test

# ziggy-bench --quick runs and writes well-formed output; bad input exits 2 (debug build: this
# checks the command, not speed).
test-bench-cli:
	$(SWIFT) build --product ziggy-bench
	Tests/BenchCLI/check-ziggy-bench .build/debug/ziggy-bench

test-sanitizers: test-asan test-tsan

# The sanitizers run the whole suite in separate build folders (the main build stays intact).
# allocator_may_return_null: the bad-input tests ask malloc for 64 TiB and expect a typed error,
# not a sanitizer abort. The stress test runs 20k operations per thread instead of 200k there.
SANITIZER_STRESS_OPS ?= 20000

test-asan:
	ZIGGY_STRESS_OPS=$(SANITIZER_STRESS_OPS) ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Sanitizers/lsan.supp \
	  $(SWIFT) test --sanitize=address --scratch-path .build-asan

test-tsan:
	ZIGGY_STRESS_OPS=$(SANITIZER_STRESS_OPS) TSAN_OPTIONS=allocator_may_return_null=1:halt_on_error=0 \
	  $(SWIFT) test --sanitize=thread --scratch-path .build-tsan

# Multi-node NUMA behaviour inside qemu VMs (2 and 4 nodes). Exit 3 means the VMs could not run
# at all: a failure in CI (CI=true), a loud warning elsewhere.
test-numa:
	@Tests/NumaVM/run-numa-tests --no-build; rc=$$?; \
	if [ $$rc -eq 3 ] && [ "$${CI:-}" != "true" ]; then \
	  echo "make: WARNING: the NUMA VM tests could not run here (see above); they are required in CI" >&2; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

bench: deps
	$(SWIFT) build -c release --product ziggy-bench
	@mkdir -p bench-results
	@if [ "$$(id -u)" -eq 0 ]; then reserve="--reserve-hugepages $(BENCH_HUGEPAGES)"; \
	  if [ "$$(awk '/^MemAvailable:/ { print int($$2 / 1048576) }' /proc/meminfo)" -ge 12 ]; then \
	    reserve="$$reserve --reserve-1g-pages $(BENCH_1G_PAGES)"; fi; \
	else reserve=""; echo "make: not root: huge pages are not reserved; hugetlb rows will say so" >&2; fi; \
	.build/release/ziggy-bench $$reserve --markdown bench-results/results.md --json bench-results/results.json \
	  --csv bench-results/results.csv --svg bench-results/results.svg $(BENCH_ARGS)

clean:
	rm -rf .build .build-asan .build-tsan bench-results
