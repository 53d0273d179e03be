// "Without unsafe", checkably: every accessor that can lead to a use after free or a double free
// is flagged by strict memory safety when a client uses it without `unsafe`.
//
// EXPECT-WARNING: expression uses unsafe constructs but is not marked with 'unsafe'
import ZiggyAlloc

func flagged() throws {
    let buffer = try SystemMemoryAllocator().allocate(Int.self, count: 4)
    let address = buffer.unsafeBaseAddress
    _ = address
    let raw = buffer.unsafeDetach()
    raw.release()
}
