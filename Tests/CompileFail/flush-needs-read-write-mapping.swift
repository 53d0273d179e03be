// 1.0: flush(waiting:) belongs to read-write file mappings (FileMapping.ReadWriteBuffer), not to
// every UnmanagedBuffer: flushing malloc'd, mmap'd or read-only memory, which threw
// invalidArgument at run time before, no longer compiles (read-write-mapping-legitimate.swift is
// the replacement).
//
// EXPECT-ERROR: error: value of type 'UnmanagedBuffer<UInt8>' has no member 'flush'
import ZiggyMmap

func flushHeap() throws {
    let buffer = try SystemMemoryAllocator().allocate(UInt8.self, count: 16)
    try buffer.flush()
}
