// swift-tools-version: 6.1
//
// OpenBLAS dgemm on Grids (their padded leading dimension as lda) mapped with 2 MiB pages and with
// base pages, checked against a naive Swift multiply. A package of its own: the library never needs the BLAS headers.
import PackageDescription

let package = Package(
    name: "MatrixMultiply",
    dependencies: [
        .package(name: "ZiggyAlloc", path: "../.."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // cblas.h and libopenblas. Debian's libopenblas-dev ships openblas.pc, whose include
        // directory (…/openblas-pthread) holds this cblas.h; the generic cblas.h alternative may
        // point at another BLAS.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .executableTarget(
            name: "matrix-multiply",
            dependencies: [
                "CBLAS",
                .product(name: "ZiggyMmap", package: "ZiggyAlloc"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/MatrixMultiply"
        ),
    ],
    swiftLanguageModes: [.v6]
)
