// swift-tools-version: 6.1
//
// A Jacobi heat-diffusion stencil on two blocked, NUMA-placed grids worked by a ZiggyMmap Team,
// checked against the same computation on [Double] with DispatchQueue.concurrentPerform.
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
