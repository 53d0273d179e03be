// swift-tools-version: 6.2
//
// FFTW on UnmanagedBuffer<Complex<Double>>: forward transform checked against a naive DFT, the
// inverse recovering the input, plan execution timed on 2 MiB and base pages. A package of its
// own: the library never needs the FFTW headers.
import PackageDescription

let package = Package(
    name: "ComplexFFT",
    dependencies: [
        .package(name: "ZiggyAlloc", path: "../..", traits: ["Numerics"]),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3", providers: [.apt(["libfftw3-dev"])]),
        .executableTarget(
            name: "complex-fft",
            dependencies: [
                "CFFTW",
                .product(name: "ZiggyMmap", package: "ZiggyAlloc"),
                .product(name: "ComplexModule", package: "swift-numerics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/ComplexFFT"
        ),
    ],
    swiftLanguageModes: [.v6]
)
