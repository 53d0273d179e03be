# ZiggyAlloc for Swift — the two commands a newcomer needs:
#
#   make check   the contributor's loop (about 10 minutes on a fresh clone of a 2-core machine):
#                swift-format, build, the unit suites, the DocC catalogs, the compile-fail checks,
#                every code block of the README and DocC articles compiled, and the tests
#                Docs/Guarantees.md cites found in the sources
#   make test    the full gate (.ci/run): install what is missing, build, run every test: unit tests (hugetlb tests reserve
#                pages when root), a quick ziggy-bench run checking its output, the same suite under
#                AddressSanitizer and ThreadSanitizer, a timed libFuzzer run, the MPI checks under
#                mpirun (Integrations/MPI), and the multi-node NUMA tests inside 2-, 4- and 3-node
#                qemu VMs
#   make docs    build the DocC archives of ZiggyAlloc, ZiggyMmap and ZiggyFoundation into
#                .build-docs/ (part of make test: any DocC warning fails)
#   make bench   build ziggy-bench in release mode and benchmark the backends on this host,
#                writing bench-results/ (markdown, JSON, CSV, SVG)
#   make bench-check   the everyday paths against their C references; fails on a missed target
#   make test-under-load   the unit suite 10 times under `stress-ng --cpu 2` and `--parallel`, then
#                beside a process reserving huge pages (not part of make test)
#
# Needs Linux, Swift 6.x and apt (Debian/Ubuntu). Installing packages needs root or passwordless sudo.

SHELL := /bin/bash
SWIFT ?= swift
# Packages the build needs (the NUMA VM runner installs qemu, cpio and a Debian kernel itself).
APT_PACKAGES := libnuma-dev pkg-config numactl
BENCH_ARGS ?=
BENCH_HUGEPAGES ?= 600
BENCH_1G_PAGES ?= 3

.PHONY: all deps build docs format check test test-doc-blocks test-citations test-format test-unit test-unprivileged test-under-load test-compile-fail test-release-traps test-api test-walk test-misuse-coverage test-bench-cli examples test-mpi test-sanitizers test-asan test-tsan test-numa test-fuzz bench bench-check references clean

all: build

deps:
	@missing=""; \
	[ -r /usr/include/numa.h ] || missing="$$missing libnuma-dev"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	command -v numactl >/dev/null 2>&1 || missing="$$missing numactl"; \
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

check: deps
	$(MAKE) test-format
	$(MAKE) test-unit
	$(MAKE) docs
	$(MAKE) test-compile-fail
	$(MAKE) test-doc-blocks
	$(MAKE) test-citations

test: deps
	$(MAKE) test-format
	$(MAKE) test-unit
	$(MAKE) test-unprivileged
	$(MAKE) docs
	$(MAKE) test-compile-fail
	$(MAKE) test-doc-blocks
	$(MAKE) test-citations
	$(MAKE) test-release-traps
	$(MAKE) test-api
	$(MAKE) test-walk
	$(MAKE) test-misuse-coverage
	$(MAKE) test-bench-cli
	$(MAKE) examples
	$(MAKE) test-mpi
	$(MAKE) test-sanitizers
	$(MAKE) test-fuzz
	$(MAKE) test-numa

# Source formatting: swift-format (part of the toolchain) with the repository's .swift-format;
# `make format` rewrites the files, `make test-format` fails on any difference. The compile-fail
# snippets are left as written (their diagnostics name lines).
FORMAT_PATHS := Sources Benchmarks/ZiggyBench Tests/ZiggyAllocTests Tests/ZiggyMmapTests Tests/ZiggyFoundationTests Tests/Fuzz \
	Examples/HeatDiffusion Examples/Stencil3D Examples/ImageBlur Examples/MatrixMultiply Examples/ComplexFFT Integrations/MPI

format:
	$(SWIFT) format format --in-place --recursive $(FORMAT_PATHS)

test-format:
	$(SWIFT) format lint --strict --recursive $(FORMAT_PATHS)

# ZIGGY_HUGETLB_LOCK_CHECK=trap: a test that maps hugetlb pages or writes a pool without holding
# the hugetlb pool lock traps, naming it (Docs/Guarantees.md, "Huge page reservations").
test-unit:
	$(SWIFT) build --build-tests
	ZIGGY_HUGETLB_LOCK_CHECK=trap $(SWIFT) test

# Promises root hides: the suite "Unprivileged: promises root hides" (locking beyond
# RLIMIT_MEMLOCK, a locked buffer grown past it, huge page reservations and other /sys writes) run
# as user nobody, since root bypasses RLIMIT_MEMLOCK and the permission checks. As a user other than
# root it runs as that user. Prints every scenario's report and "unprivileged: P passed, F failed".
UNPRIVILEGED := setpriv --reuid=65534 --regid=65534 --clear-groups

test-unprivileged:
	$(SWIFT) build --build-tests
	@bundle=$$($(SWIFT) build --show-bin-path)/ZiggyAllocPackageTests.xctest; \
	if [ "$$(id -u)" -eq 0 ]; then run="$(UNPRIVILEGED)"; else run=""; fi; \
	echo "test-unprivileged: running as $${run:-$$(id -un)} ($$bundle, suite UnprivilegedTests)"; \
	log=$$(mktemp); $$run "$$bundle" --testing-library swift-testing --filter UnprivilegedTests >"$$log" 2>&1; rc=$$?; \
	grep -v '^.*↳ //' "$$log" | sed 's/\x1b\[[0-9;]*m//g'; \
	passed=$$(grep -c '✔ Test "' "$$log"); failed=$$(grep '✘ Test "' "$$log" | grep -vc 'recorded an issue'); rm -f "$$log"; \
	echo "unprivileged (uid 65534 when run as root): $$passed passed, $$failed failed"; \
	[ $$rc -eq 0 ] && [ $$passed -gt 0 ]

# Not part of `make test` (about LOAD_RUNS × 1–2 min): the unit suite LOAD_RUNS times in a row with
# `swift test --parallel` and `stress-ng --cpu 2` beside it, then once beside a process that keeps
# reserving and giving back 2 MiB pages under the hugetlb pool lock protocol
# (Tests/Load/reserve-hugepages-loop). Prints one line per run and "N passed, F failed".
LOAD_RUNS ?= 10

test-under-load: deps
	SWIFT=$(SWIFT) Tests/Load/run-under-load --runs $(LOAD_RUNS)

# API documentation: one DocC archive per library, .build-docs/ZiggyAlloc.doccarchive,
# .build-docs/ZiggyMmap.doccarchive and .build-docs/ZiggyFoundation.doccarchive (static websites:
# serve one, open /documentation/<module>). The compiler emits the symbol graphs while building
# the libraries in their own scratch path (the main build stays intact): ZiggyMmap (which builds
# ZiggyAlloc too) and ZiggyFoundation, which nothing else depends on. ZiggyMmap's graph holds the
# re-exported ZiggyAlloc symbols too, so its pages link to the core types; ZiggyFoundation's
# extensions of UnmanagedBuffer and Data come in its ZiggyFoundation@<module> graphs. Fails on any
# DocC warning, and on a public symbol that a landing page leaves out of its topic groups (DocC
# would list it in a generated group).
DOCC ?= docc
DOCS_DIR := .build-docs
DOCS_MODULES := ZiggyAlloc ZiggyMmap ZiggyFoundation
DOCS_BUILD_TARGETS := ZiggyMmap ZiggyFoundation

docs:
	@set -e; for target in $(DOCS_BUILD_TARGETS); do \
	  echo "$(SWIFT) build --target $$target --scratch-path $(DOCS_DIR) (emitting symbol graphs)"; \
	  $(SWIFT) build --target $$target --scratch-path $(DOCS_DIR) \
	    -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc $(CURDIR)/$(DOCS_DIR)/symbol-graphs \
	    -Xswiftc -emit-extension-block-symbols; \
	done
	@set -e; for module in $(DOCS_MODULES); do \
	  graphs=$(DOCS_DIR)/graphs/$$module; rm -rf "$$graphs"; mkdir -p "$$graphs"; \
	  find $(DOCS_DIR)/symbol-graphs \( -name "$$module.symbols.json" -o -name "$$module@*.symbols.json" \) \
	    -exec cp {} "$$graphs"/ \; ; \
	  echo "docc convert Sources/$$module/$$module.docc → $(DOCS_DIR)/$$module.doccarchive"; \
	  $(DOCC) convert Sources/$$module/$$module.docc --additional-symbol-graph-dir "$$graphs" \
	    --fallback-display-name $$module --fallback-bundle-identifier org.ziggyalloc.$$module \
	    --output-path $(DOCS_DIR)/$$module.doccarchive --warnings-as-errors; \
	  landing=$(DOCS_DIR)/$$module.doccarchive/data/documentation/$$(echo $$module | tr A-Z a-z).json; \
	  if grep -q '"generated":true' "$$landing"; then \
	    echo "make docs: $$module.md leaves public symbols out of its Topics (DocC generated a group for them):" >&2; \
	    tr '{}' '\n\n' < "$$landing" | grep '"generated":true' | grep -o '"doc:[^"]*"' | \
	      sed 's|.*/||; s|"$$||; s|^|  |' >&2; \
	    exit 1; \
	  fi; \
	done

# Ownership and API promises as compile checks: client snippets compiled with strict memory
# safety must be rejected with the right diagnostic (escapes, double free, use after consume),
# flagged (unsafe accessors) or accepted without a warning (the APIs users need).
test-compile-fail:
	$(SWIFT) build
	Tests/CompileFail/run-compile-fail-checks .build/debug

# Every code block of the README and the DocC articles compiles (Tests/Docs/check-code-blocks).
test-doc-blocks:
	SWIFT=$(SWIFT) Tests/Docs/check-code-blocks

# Every test Docs/Guarantees.md cites as Suite › "name" exists (Tests/Docs/check-test-citations;
# reads the test sources, builds nothing).
test-citations:
	Tests/Docs/check-test-citations

# Trap messages (index and count, a buffer outliving its arena, a grid's indices, slices and
# lines) survive -O builds.
test-release-traps:
	Tests/ReleaseTraps/check-release-trap-messages

# The misuse suite's reach: every public entry point taking input is tried with hostile inputs
# (or says why it has none), counted from the symbol graph.
test-misuse-coverage:
	SWIFT=$(SWIFT) Tests/Misuse/check-entry-point-coverage $(MISUSE_ARGS)

# The public API against the last release: only the breaks listed in CHANGELOG.md. And the size
# of what `import ZiggyMmap` puts in a user's namespace (declarations, top-level types; the 1.0
# target is 450 and 30: Docs/Architecture.md), held at its figures since grids (issue 23: Grid,
# its Layout and views, Team.allocate(_:extents:), Team.Block, Team.BlockPlacement); the 0.2.0
# limits were 542 and 30. The 1.0 consolidation (CHANGELOG, "1.0 surface: buffers and allocators"
# and "1.0 surface: mapping, NUMA, teams and grids") took them to the figures below.
SURFACE_LIMITS ?= 491 29
test-api:
	Tests/API/check-api-breakage
	Tests/API/count-surface $(SURFACE_LIMITS)

# Docs/Architecture.md's promise: each walk (one buffer's life) executes at most 22, 32, 32 source files.
test-walk:
	Tests/Architecture/count-walk-files

# ziggy-bench --quick runs and writes well-formed output; bad input exits 2 (debug build: this
# checks the command, not speed). The release build `make bench` uses is built too: the optimizer
# has crashed on code the debug build accepts.
test-bench-cli:
	$(SWIFT) build -c release --product ziggy-bench
	$(SWIFT) build --product ziggy-bench
	Tests/BenchCLI/check-ziggy-bench .build/debug/ziggy-bench

# The runnable numerical examples (Examples/*: HeatDiffusion, Stencil3D, ImageBlur, MatrixMultiply
# with OpenBLAS, ComplexFFT with FFTW), each a package of its own depending on this one by path, so the library's
# build never needs BLAS or FFTW headers. Installs libopenblas-dev and libfftw3-dev when root (else
# names the apt command), builds each in release mode into one shared scratch path, runs each on a
# small size and on bad input, then HeatDiffusion inside a 2-node qemu VM; prints one line per
# example ("example NAME: ok" or "example NAME: failed (reason)"), logs in .build-examples/logs.
# EXAMPLES_ARGS=--no-vm leaves the VM run out.
EXAMPLES_ARGS ?=

examples:
	@SWIFT=$(SWIFT) Examples/run-examples $(EXAMPLES_ARGS)

# The MPI integration (Integrations/MPI, its own package): installs Open MPI as root, runs
# ziggy-mpi-check under mpirun with 2 ranks on this host and with one rank per node in a 2-node VM,
# printing "mpi ranks=R nodes=N: P passed, F failed", and the mpi-stream example. Without MPI
# and without root it prints the apt command; like the NUMA VMs, that is a failure only in CI.
test-mpi:
	@SWIFT=$(SWIFT) Integrations/MPI/run-mpi-tests $(MPI_ARGS); rc=$$?; \
	if [ $$rc -eq 3 ] && [ "$${CI:-}" != "true" ]; then \
	  echo "make: WARNING: the MPI tests could not run here (see above); they are required in CI" >&2; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

test-sanitizers: test-asan test-tsan

# The sanitizers run the whole suite in separate build folders (the main build stays intact).
# allocator_may_return_null: the bad-input tests ask malloc for 64 TiB and expect a typed error,
# not a sanitizer abort. The stress test runs 20k operations per thread instead of 200k there.
SANITIZER_STRESS_OPS ?= 20000

test-asan:
	ZIGGY_HUGETLB_LOCK_CHECK=trap ZIGGY_STRESS_OPS=$(SANITIZER_STRESS_OPS) ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Sanitizers/lsan.supp \
	  $(SWIFT) test --sanitize=address --scratch-path .build-asan

test-tsan:
	ZIGGY_HUGETLB_LOCK_CHECK=trap ZIGGY_STRESS_OPS=$(SANITIZER_STRESS_OPS) TSAN_OPTIONS=allocator_may_return_null=1:halt_on_error=0 \
	  $(SWIFT) test --sanitize=thread --scratch-path .build-tsan

# The libFuzzer target (Tests/Fuzz) for FUZZ_SECONDS from a copy of the seed corpus, failing on
# any crash; prints "fuzz: N executions in S s, 0 crashes". Release build with ASan, its own
# build folder; ENABLE_MOCKING lets the target count every byte mapped through the kernel seam.
# The extra -Xswiftc -sanitize=fuzzer,address is needed: Swift 6.3's driver passes the frontend
# only the last of several -sanitize= flags, so --sanitize=fuzzer alone instruments nothing.
FUZZ_SECONDS ?= 60
FUZZ_BUILD := -c release --scratch-path .build-fuzz --sanitize=fuzzer --sanitize=address \
	-Xswiftc -sanitize=fuzzer,address -Xswiftc -DZIGGY_LIBFUZZER -Xswiftc -DENABLE_MOCKING

test-fuzz: deps
	$(SWIFT) build $(FUZZ_BUILD) --product ziggy-fuzz 2>&1 | grep -v 'Cannot export local symbol' ; \
	  test "$${PIPESTATUS[0]}" -eq 0
	Tests/Fuzz/run-fuzz .build-fuzz/release/ziggy-fuzz $(FUZZ_SECONDS)

# Multi-node NUMA behaviour inside qemu VMs (2 and 4 nodes). Exit 3 means the VMs could not run
# at all: a failure in CI (CI=true), a loud warning elsewhere.
test-numa:
	@Tests/NumaVM/run-numa-tests --no-build; rc=$$?; \
	if [ $$rc -eq 3 ] && [ "$${CI:-}" != "true" ]; then \
	  echo "make: WARNING: the NUMA VM tests could not run here (see above); they are required in CI" >&2; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

# The outside references (Benchmarks/References: stream.c itself, our OpenMP STREAM over the
# in-process rows' array size, and an empty parallel region), built as their users build them:
# gcc -O3 -march=native -fopenmp (libgomp). Without gcc their rows say why they did not run.
# stream.c's size and passes are fixed when it is compiled: 80 M doubles a array (3 × 640 MB, far
# beyond any cache here, as STREAM's rules ask), NTIMES 5 (a run takes ~3 s; ziggy-bench runs it
# once a sample). ziggy-bench labels its rows with these values (streamCElements, streamCTimes).
REFERENCES_DIR := .build/references
REFERENCE_PROGRAMS := $(REFERENCES_DIR)/stream $(REFERENCES_DIR)/omp_stream $(REFERENCES_DIR)/omp_fork_join
STREAM_FLAGS := -DSTREAM_ARRAY_SIZE=80000000 -DNTIMES=5

$(REFERENCES_DIR)/%: Benchmarks/References/%.c
	@mkdir -p $(REFERENCES_DIR)
	@if command -v gcc >/dev/null 2>&1; then gcc -O3 -march=native -fopenmp -o $@ $<; \
	else echo "make: gcc not found: the outside reference $@ is not built" >&2; fi

$(REFERENCES_DIR)/stream: Benchmarks/References/STREAM/stream.c Makefile
	@mkdir -p $(REFERENCES_DIR)
	@if command -v gcc >/dev/null 2>&1; then gcc -O3 -march=native -fopenmp $(STREAM_FLAGS) -o $@ $<; \
	else echo "make: gcc not found: the outside reference $@ is not built" >&2; fi

references: $(REFERENCE_PROGRAMS)

bench: deps references
	$(SWIFT) build -c release --product ziggy-bench
	@mkdir -p bench-results
	@if [ "$$(id -u)" -eq 0 ]; then reserve="--reserve-hugepages $(BENCH_HUGEPAGES)"; \
	  if [ "$$(awk '/^MemAvailable:/ { print int($$2 / 1048576) }' /proc/meminfo)" -ge 12 ]; then \
	    reserve="$$reserve --reserve-1g-pages $(BENCH_1G_PAGES)"; fi; \
	else reserve=""; echo "make: not root: huge pages are not reserved; hugetlb rows will say so" >&2; fi; \
	.build/release/ziggy-bench $$reserve --references $(REFERENCES_DIR) --markdown bench-results/results.md \
	  --json bench-results/results.json --csv bench-results/results.csv --svg bench-results/results.svg $(BENCH_ARGS)
	@if [ -z "$(BENCH_ARGS)" ]; then Benchmarks/publish-results bench-results; fi

# The regression guard for the everyday paths (not part of make test: timing does not belong in
# the unit gate): buffer[i] loops, team regions and small allocations against their C references
# in one run; fails when a target is missed (its whole interval on the wrong side). Run it before
# every change to the buffer, teams or statistics, on a quiet machine.
bench-check: deps references
	$(SWIFT) build -c release --product ziggy-bench
	.build/release/ziggy-bench --workloads access,view,team-region,alloc-free --backends system,scoped \
	  --alloc-sizes 64,4KiB --repetitions 11 --references $(REFERENCES_DIR) --fail-on-miss $(BENCH_ARGS)

clean:
	rm -rf .build .build-asan .build-tsan .build-docs .build-doc-blocks .build-coverage .build-fuzz .build-examples .build-load bench-results
