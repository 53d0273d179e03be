// A client program that hits the library's documented traps; built with -O against a release
// build of ZiggyAlloc by check-release-trap-messages.
import ZiggyAlloc

let which = CommandLine.arguments.dropFirst().first ?? "index"
switch which {
case "index":
    // Docs/Guarantees.md: out-of-range indexing traps in release builds "naming the index and the count".
    var buffer = try SystemMemoryAllocator().allocate(Int.self, count: 3)
    let index = CommandLine.arguments.count + 1   // 3, not a compile-time constant
    buffer[index] = 1
    print("not reached: \(buffer[0])")
case "arena":
    // An arena buffer still alive at the end of its arena's scope traps, naming how many and how large.
    var survivor: UnmanagedBuffer<UInt8>? = nil
    do {
        let arena = ScopedAllocator()
        survivor = try arena.allocate(UInt8.self, count: 16)
    }
    print("not reached: \(survivor?.count ?? 0)")
case "grid":
    // A grid index outside the extents traps in release builds, naming the indices and the extents.
    var grid = try Grid<Double>(extents: [3, 4], allocator: SystemMemoryAllocator())
    let row = CommandLine.arguments.count + 1   // 3, not a compile-time constant
    grid[row, 0] = 1
    print("not reached: \(grid[0, 0])")
default:
    print("usage: traps index|arena|grid")
}
