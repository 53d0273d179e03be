// Ownership: freeing a buffer twice does not compile (free() consumes it).
//
// EXPECT-ERROR: error: .*(consumed more than once|used after consume)
import ZiggyAlloc

func twice() throws {
    let buffer = try SystemMemoryAllocator().allocate(Int.self, count: 4)
    buffer.free()
    buffer.free()
}
