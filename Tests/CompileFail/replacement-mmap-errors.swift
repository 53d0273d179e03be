// The replacement for break-mmap-errors-moved.swift and break-errno-type.swift: mapping failures
// are MmapError (request errors inside .request), errno values are swift-system's Errno.
//
// EXPECT-COMPILES
import ZiggyMmap

func describe() -> String {
    do throws(MmapError) {
        _ = try MmapAllocator(pageSize: .huge2MiB).allocate(UInt8.self, count: 4096)
        return "mapped"
    } catch .hugePagesUnavailable(let size, let needed, _) {
        return "\(needed) \(size) pages missing"
    } catch .request(.negativeCount) {
        return "bad count"
    } catch {
        return error.errno == .noMemory ? "out of memory" : "\(error)"
    }
}
