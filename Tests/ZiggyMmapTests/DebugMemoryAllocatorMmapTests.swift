import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

/// DebugMemoryAllocator wrapping a mapping allocator: its checks must not cost what the mapping
/// spares — scribbling a freed buffer's bytes would fault in every page of a lazy mapping.
@Suite("DebugMemoryAllocator over mappings")
struct DebugMemoryAllocatorMmapTests {
    @Test("freeing a 512 MiB lazy mmap buffer (one page touched) through DebugMemoryAllocator does not fault it in")
    func debugScribbleDoesNotCommitLazyMemory() async {
        // In a child: its peak resident size (VmHWM) is its own.
        await ChildScenario.debugScribble.runInChild()
    }

    static func debugScribble() -> Bool {
        let debug = DebugMemoryAllocator("lazy-mmap", wrapping: MmapAllocator(pageSize: .base))
        var buffer = try! debug.allocate(UInt8.self, count: 512 * MiB)
        buffer[12345] = 1  // one page touched
        let before = readStatusKB("VmHWM")
        let rssBefore = readStatusKB("VmRSS")
        buffer.free()
        let after = readStatusKB("VmHWM")
        say(
            "512 MiB lazy buffer, 1 page touched: VmRSS before free \(rssBefore) kB; VmHWM before free \(before) kB, "
                + "after free \(after) kB (+\(after - before) kB)")
        return after - before < 64 * 1024
    }

    /// A kB field of /proc/self/status (-1 when missing).
    static func readStatusKB(_ field: String) -> Int {
        let text = Kernel.readText("/proc/self/status") ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
        }
        return -1
    }
}
