// Ownership: a buffer moved into another variable (or a function that consumes it) cannot be used
// through the old name; buffers cannot be copied.
//
// EXPECT-ERROR: error: .*(used after consume|consumed more than once|noncopyable)
import ZiggyAlloc

func take(_ buffer: consuming UnmanagedBuffer<Int>) {}

func moved() throws -> Int {
    let buffer = try SystemMemoryAllocator().allocate(Int.self, count: 4)
    take(buffer)
    return buffer.count
}
