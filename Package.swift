// swift-tools-version: 6.2
//
// ZiggyAlloc for Swift: explicit, fast, verifiable control of large unmanaged buffers on Linux.
//
// Layers (Docs/Architecture.md): ZiggyKernel (the kernel seam, internal) ← ZiggyAlloc (core:
// buffers, the allocator protocol, system / scoped / debug allocators) ← ZiggyMmap (mmap, huge
// pages, NUMA, placement, file mappings). `import ZiggyMmap` gives everything.
import PackageDescription

/// The library targets vend `Span`s and non-escapable views tied to a buffer's lifetime; that
/// needs the `Lifetimes` experimental feature on the defining targets only (clients need no flag).
let libraryFeatures: [SwiftSetting] = [
    .enableExperimentalFeature("Lifetimes"),
]

/// Fault injection in the kernel seam exists only in debug builds (what `swift test` builds), as
/// in apple/swift-system; release builds compile every check out.
let mocking: SwiftSetting = .define("ENABLE_MOCKING", .when(configuration: .debug))

let package = Package(
    name: "ZiggyAlloc",
    products: [
        .library(name: "ZiggyAlloc", targets: ["ZiggyAlloc"]),
        .library(name: "ZiggyMmap", targets: ["ZiggyMmap"]),
        // Foundation `Data` bridges, a product of its own so that the core links no Foundation.
        .library(name: "ZiggyFoundation", targets: ["ZiggyFoundation"]),
        // ziggy-bench and ziggy-fuzz are executable targets, not products: a client resolves the
        // packages of the products it could use, and only the benchmark needs swift-argument-parser.
        // In this package `swift build --product ziggy-bench` builds them all the same.
    ],
    // Opt-in parts whose packages a client resolves only when it enables them.
    traits: [
        .trait(
            name: "Numerics",
            description: "swift-numerics' Complex conforms to TrivialElement: buffers of Complex<Double> with no declaration of your own."
        )
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        // Thread-local statistics shards and the raw system calls Swift's Glibc module lacks.
        // Plain C, no libnuma: importing ZiggyAlloc alone needs no NUMA headers.
        .target(name: "CZiggyShims"),
        // The one seam between the library and the kernel (not a product).
        .target(
            name: "ZiggyKernel",
            dependencies: ["CZiggyShims", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: [mocking]
        ),
        .target(
            name: "ZiggyAlloc",
            dependencies: [
                "CZiggyShims",
                "ZiggyKernel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ComplexModule", package: "swift-numerics", condition: .when(traits: ["Numerics"])),
            ],
            swiftSettings: libraryFeatures + [mocking]
        ),
        // libnuma, for the benchmark's `c-libnuma` reference and the tests' independent topology
        // check. The library itself makes the NUMA system calls through its seam (so tests can
        // fail them, and the core needs no NUMA headers).
        .systemLibrary(
            name: "CNuma",
            pkgConfig: "numa",
            providers: [.apt(["libnuma-dev"])]
        ),
        .target(
            name: "ZiggyMmap",
            dependencies: [
                "ZiggyAlloc", "ZiggyKernel",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: libraryFeatures + [mocking]
        ),
        // Moving buffers into `Data` without a copy, and wrapping `Data` as typed elements.
        .target(name: "ZiggyFoundation", dependencies: ["ZiggyAlloc"], swiftSettings: libraryFeatures),
        // The outside references ziggy-bench measures against (STREAM over a pthread fork-join team,
        // MAP_HUGETLB and libnuma touch loops, glibc malloc, memset), built as a C user builds them:
        // -O3 -march=native. Not a product: unsafeFlags only bar a package from being a dependency
        // for products that contain the target, and only the ziggy-bench executable does.
        .target(
            name: "CZiggyReferences",
            path: "Benchmarks/CZiggyReferences",
            cSettings: [.unsafeFlags(["-O3", "-march=native", "-fopenmp-simd"])],
            linkerSettings: [.linkedLibrary("numa"), .linkedLibrary("dl"), .linkedLibrary("pthread")]
        ),
        .executableTarget(
            name: "ziggy-bench",
            dependencies: [
                "ZiggyMmap",
                "ZiggyKernel",  // the hugetlb pool lock its reservations hold
                "CNuma",
                "CZiggyShims",
                "CZiggyReferences",
                "ZiggySupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/ZiggyBench",
            // Compiled for this CPU, as its C references are (-march=native): the comparison is then
            // code against code, not SSE2 against AVX. Users get the same with
            // `swift build -c release -Xswiftc -target-cpu -Xswiftc native` (Docs: Performance).
            swiftSettings: [.unsafeFlags(["-target-cpu", "native"], .when(configuration: .release))]
        ),
        // libFuzzer target over request validation, the core allocators, MmapAllocator and
        // FileMapping (Tests/Fuzz; built with -DZIGGY_LIBFUZZER and the fuzzer sanitizer by
        // `make test-fuzz`).
        // The libFuzzer target (make test-fuzz); a plain build replays inputs given as arguments.
        .executableTarget(
            name: "ziggy-fuzz",
            dependencies: ["ZiggyMmap", "ZiggyKernel", "ZiggySupport", "CZiggyFuzzOptions"],
            path: "Tests/Fuzz/ZiggyFuzz",
            swiftSettings: [mocking]
        ),
        // ziggy-fuzz's AddressSanitizer defaults (C: read before any Swift code can run).
        .target(name: "CZiggyFuzzOptions", path: "Tests/Fuzz/CZiggyFuzzOptions"),
        // Seeded randomness, the thread runner, the process-state snapshot (mappings, hugetlb pools)
        // and the invariant checker shared by the tests, ziggy-bench and ziggy-fuzz (not a product).
        // Without the Numerics trait it conforms Complex itself, as a client would.
        .target(
            name: "ZiggySupport",
            dependencies: [
                "CZiggyShims", "ZiggyKernel", "ZiggyAlloc", .product(name: "ComplexModule", package: "swift-numerics"),
            ]
        ),
        .testTarget(
            name: "ZiggyAllocTests",
            dependencies: [
                "ZiggyAlloc", "ZiggyKernel", "ZiggySupport",
                .product(name: "ComplexModule", package: "swift-numerics"),
            ],
            swiftSettings: [mocking]
        ),
        // Its own test target: Foundation imported into the other test targets would change how
        // their `as? any Hashable` casts type-check (they warn).
        .testTarget(
            name: "ZiggyFoundationTests",
            dependencies: ["ZiggyFoundation", "ZiggyMmap", "ZiggySupport", .product(name: "ComplexModule", package: "swift-numerics")]
        ),
        .testTarget(
            name: "ZiggyMmapTests",
            dependencies: [
                "ZiggyMmap", "ZiggyKernel", "CNuma", "ZiggySupport", .product(name: "ComplexModule", package: "swift-numerics"),
            ],
            swiftSettings: [mocking]
        ),
    ],
    swiftLanguageModes: [.v6]
)
