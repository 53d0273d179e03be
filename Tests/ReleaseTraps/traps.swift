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
case let grid where grid.hasPrefix("grid-"):
    // Docs/Guarantees.md, issue 23: a grid index, slice or line outside the grid or a view traps in
    // release builds naming the indices and the ranges they had to lie in. `n` is 2 (the program
    // and its argument), so that no index is a compile-time constant.
    let n = CommandLine.arguments.count
    let system = SystemMemoryAllocator()
    var grid = try Grid<Int>(extents: [4, 5], zeroed: true, allocator: system)
    let cube = try Grid<Int>(extents: [4, 5, 6], zeroed: true, allocator: system)
    var sink = 0
    switch which {
    case "grid-row": sink = grid[n + 2, 0]
    case "grid-column": grid[0, n + 3] = 1
    case "grid-negative": sink = grid[n - 3, 1]
    case "grid-plane": sink = cube[0, 0, n + 4]
    case "grid-rank": sink = cube[1, n]
    case "grid-slice": sink = grid.view.slice(0..<n + 3, 0..<5).indices(0).count
    case "grid-line": sink = grid.view.line(n + 2).count
    case "grid-window":
        // A view of rows 2..<4 (what a team member gets for its block) indexed at row 1.
        var whole = grid.mutableView
        var block = whole.slice(2..<4, 0..<5)
        block[n - 1, 0] = 1
    default: print("usage: traps grid-row|grid-column|grid-negative|grid-plane|grid-rank|grid-slice|grid-line|grid-window")
    }
    print("not reached: \(sink)")
default:
    print("usage: traps index|arena|grid-…")
}
