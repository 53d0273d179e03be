// swift-tools-version: 6.1
//
// A separable 5-tap Gaussian blur of a 3840 × 2160 RGBA image held in team-placed Grids (blocks
// of whole rows, each on its member's node), checked bitwise against a naive 5 × 5 convolution.
// A package of its own so that the library's build never depends on an example's needs.
import PackageDescription

let package = Package(
    name: "ImageBlur",
    dependencies: [
        .package(name: "ZiggyAlloc", path: "../.."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .executableTarget(
            name: "image-blur",
            dependencies: [
                .product(name: "ZiggyMmap", package: "ZiggyAlloc"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/ImageBlur"
        )
    ],
    swiftLanguageModes: [.v6]
)
