// Ownership: using a buffer after free() does not compile.
//
// EXPECT-ERROR: error: .*used after consume
import ZiggyAlloc

func after() throws -> Int {
    var buffer = try SystemMemoryAllocator().allocate(Int.self, count: 4)
    buffer[0] = 1
    buffer.free()
    return buffer[0]
}
