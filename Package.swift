// swift-tools-version: 6.1
//
// ZiggyAlloc for Swift: explicit, fast, verifiable control of large unmanaged buffers on Linux.
import PackageDescription

/// The library targets vend `Span`s tied to a buffer's lifetime; that needs the `Lifetimes`
/// experimental feature on the defining target only (clients need no flag).
let libraryFeatures: [SwiftSetting] = [
    .enableExperimentalFeature("Lifetimes"),
]

let package = Package(
    name: "ZiggyAlloc",
    products: [
        .library(name: "ZiggyAlloc", targets: ["ZiggyAlloc"]),
        .library(name: "ZiggyMmap", targets: ["ZiggyMmap"]),
        .executable(name: "ziggy-bench", targets: ["ZiggyBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Thread-local statistics shards and a few inline helpers. Plain C, no libnuma: importing
        // ZiggyAlloc alone needs no NUMA headers.
        .target(name: "CZiggyShims"),
        .target(
            name: "ZiggyAlloc",
            dependencies: [
                "CZiggyShims",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: libraryFeatures
        ),
        .systemLibrary(
            name: "CNuma",
            pkgConfig: "numa",
            providers: [.apt(["libnuma-dev"])]
        ),
        .target(
            name: "ZiggyMmap",
            dependencies: ["ZiggyAlloc", "CNuma", "CZiggyShims"],
            swiftSettings: libraryFeatures
        ),
        .executableTarget(
            name: "ZiggyBench",
            dependencies: [
                "ZiggyMmap",
                "CNuma",
                "CZiggyShims",
                "ZiggySupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/ZiggyBench"
        ),
        // Seeded randomness and OS-thread runners shared by the tests and ziggy-bench (not a product).
        .target(name: "ZiggySupport", dependencies: ["CZiggyShims"]),
        .testTarget(name: "ZiggyAllocTests", dependencies: ["ZiggyAlloc", "ZiggySupport"]),
        .testTarget(name: "ZiggyMmapTests", dependencies: ["ZiggyMmap", "CNuma", "ZiggySupport"]),
    ],
    swiftLanguageModes: [.v6]
)
