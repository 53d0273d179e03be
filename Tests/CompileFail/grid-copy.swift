// Issue 23: a Grid owns its buffer and cannot be copied — a copy would free the same memory twice.
// `let b = a` moves the grid; using `a` afterwards is rejected.
//
// EXPECT-ERROR: error: 'a' used after consume
import ZiggyAlloc

func copyGrid() throws {
    var a = try Grid<Double>(extents: [4, 4], allocator: SystemMemoryAllocator())
    var b = a
    a[0, 0] = 1
    b[0, 0] = 2
}
