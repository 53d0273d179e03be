// "Without unsafe", checkably: every accessor that can lead to a use after free or a double free
// is flagged by strict memory safety when a client uses it without `unsafe` (unsafeDetach() and
// RawAllocation are allocator-implementation SPI since 1.0, hence the SPI import).
//
// EXPECT-WARNING: expression uses unsafe constructs but is not marked with 'unsafe'
@_spi(AllocatorImplementation) import ZiggyAlloc

func flagged() throws {
    let buffer = try SystemMemoryAllocator().allocate(Int.self, count: 4)
    let address = buffer.unsafeBaseAddress
    _ = address
    let raw = buffer.unsafeDetach()
    raw.release()
}
