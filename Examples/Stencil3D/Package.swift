// swift-tools-version: 6.1
//
// A 3-D 7-point Jacobi stencil on two team-placed Grids (blocks of whole planes, each on its
// member's node), checked bitwise against a naive single-threaded version on [Double].
// A package of its own so that the library's build never depends on an example's needs.
import PackageDescription

let package = Package(
    name: "Stencil3D",
    dependencies: [
        .package(name: "ZiggyAlloc", path: "../.."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .executableTarget(
            name: "stencil-3d",
            dependencies: [
                .product(name: "ZiggyMmap", package: "ZiggyAlloc"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Stencil3D"
        )
    ],
    swiftLanguageModes: [.v6]
)
