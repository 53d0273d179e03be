// swift-tools-version: 6.1
//
// ZiggyMPI: MPI ranks, one per NUMA node, on ZiggyMmap — each rank's memory bound to its node with
// huge pages, one huge-page reserver per node, a placement table gathered on rank 0 — plus the
// mpi-stream example and the checks `make test` runs under mpirun. A package of its own, so the
// library never needs MPI headers: `Integrations/MPI/run-mpi-tests` builds it when Open MPI is
// installed (`apt-get install libopenmpi-dev openmpi-bin`) and says so when it is not.
import PackageDescription

let package = Package(
    name: "ZiggyMPI",
    products: [
        .library(name: "ZiggyMPI", targets: ["ZiggyMPI"]),
        .executable(name: "mpi-stream", targets: ["mpi-stream"]),
    ],
    dependencies: [
        .package(name: "ZiggyAlloc", path: "../.."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Debian's libopenmpi-dev ships ompi-c.pc (MPICH's is mpich.pc: see the README).
        .systemLibrary(
            name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .target(
            name: "ZiggyMPI",
            dependencies: ["CMPI", .product(name: "ZiggyMmap", package: "ZiggyAlloc")]
        ),
        .executableTarget(
            name: "mpi-stream",
            dependencies: [
                "ZiggyMPI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/MPIStream"
        ),
        .executableTarget(
            name: "ziggy-mpi-check",
            dependencies: ["ZiggyMPI"],
            path: "Sources/MPICheck"
        ),
    ],
    swiftLanguageModes: [.v6]
)
