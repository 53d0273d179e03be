// swift-tools-version: 6.1
//
// A Jacobi heat-diffusion stencil on two NUMA-placed Grids worked by a ZiggyMmap Team (forEachBlock),
// checked against the same sweep on flat buffers (forEachChunk) and on [Double] with concurrentPerform.
// A package of its own so that the library's build never depends on an example's needs.
import PackageDescription

let package = Package(
    name: "HeatDiffusion",
    dependencies: [
        .package(name: "ZiggyAlloc", path: "../.."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .executableTarget(
            name: "heat-diffusion",
            dependencies: [
                .product(name: "ZiggyMmap", package: "ZiggyAlloc"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/HeatDiffusion"
        )
    ],
    swiftLanguageModes: [.v6]
)
