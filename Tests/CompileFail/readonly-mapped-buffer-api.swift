// Issue 9, defect 11: FileMapping.ReadOnlyBuffer lacks what every other mapped buffer has: advice,
// the page-size report, NUMA placement and its address. This must compile.
// (The reports are the buffer's own, reached through withBuffer as for BufferArray.)
//
// EXPECT-COMPILES
import ZiggyMmap

func inspect() throws {
    var mapped = try FileMapping.mapReadOnly("/etc/hostname", as: UInt8.self)
    try mapped.advise(.willNeed)
    _ = mapped.withBuffer { $0.pageSizeReport() }
    _ = try mapped.withBuffer { try $0.placement() }
    _ = unsafe mapped.unsafeBaseAddress
}
