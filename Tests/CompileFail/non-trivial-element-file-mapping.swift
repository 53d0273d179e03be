// The element rule on the typed file mappings and on rebound(to:) (issue 20, item 3): String is a
// compile error there too (before: a nonTrivialElement error at run time).
//
// EXPECT-ERROR: (error|note): .*(BitwiseCopyable|TrivialElement)
import ZiggyMmap

func strings() throws {
    _ = try FileMapping.mapReadOnly("/etc/hostname", as: String.self).count
    let bytes = try SystemMemoryAllocator().allocate(UInt8.self, count: 64)
    _ = try bytes.rebound(to: String.self).count
}
