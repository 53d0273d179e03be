// Issue 9, defect 11: FileMapping.ReadOnlyBuffer lacks what every other mapped buffer has: advice,
// the page-size report, NUMA placement and its address. This must compile.
// (The names are UnmanagedBuffer's; adjust if the redesign names them differently.)
//
// EXPECT-COMPILES
import ZiggyMmap

func inspect() throws {
    var mapped = try FileMapping.mapReadOnly("/etc/hostname", as: UInt8.self)
    try mapped.advise(.willNeed)
    _ = mapped.pageSizeReport()
    _ = try mapped.placement()
    _ = unsafe mapped.unsafeBaseAddress
}
