import Glibc
import ZiggyKernel

@testable import ZiggyMmap

let isRoot = geteuid() == 0
let MiB = 1 << 20
let GiB = 1 << 30

/// Anonymous and other mappings of this process, from `/proc/self/maps`.
struct MapsSnapshot {
    let ranges: [(start: UInt, end: UInt, name: String)]

    static func take() -> MapsSnapshot {
        let text = Kernel.readText("/proc/self/maps") ?? ""
        var ranges: [(UInt, UInt, String)] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let bounds = fields.first?.split(separator: "-"), bounds.count == 2,
                let low = UInt(bounds[0], radix: 16), let high = UInt(bounds[1], radix: 16)
            else { continue }
            ranges.append((low, high, fields.count > 5 ? String(fields[5]) : ""))
        }
        return MapsSnapshot(ranges: ranges)
    }

    var totalBytes: Int { ranges.reduce(0) { $0 + Int($1.end - $1.start) } }

    /// Mappings of at least `minimum` bytes present now but not in `earlier`.
    func newLargeMappings(since earlier: MapsSnapshot, minimum: Int) -> [(start: UInt, end: UInt, name: String)] {
        let old = Set(earlier.ranges.map { "\($0.start)-\($0.end)" })
        return ranges.filter { Int($0.end - $0.start) >= minimum && !old.contains("\($0.start)-\($0.end)") }
    }

    /// Whether any mapping overlaps `[start, start + length)`.
    func covers(_ start: UInt, _ length: Int) -> Bool {
        ranges.contains { $0.start < start + UInt(length) && $0.end > start }
    }
}

/// A file under /tmp removed when the value ends.
struct TemporaryFile: ~Copyable {
    let path: String

    init(bytes: [UInt8]) {
        var template = Array("/tmp/ziggy-test-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        precondition(fd >= 0, "mkstemp failed")
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    deinit { unlink(path) }

    /// The file's bytes now.
    var contents: [UInt8] { Kernel.readBytes(path) ?? [] }
}

/// Touches one byte per base page (the way first-touch benchmarks do).
func touchPages<T>(_ buffer: inout UnmanagedBuffer<T>) {
    buffer.withUnsafeMutableBufferPointer { pointer in
        let raw = UnsafeMutableRawPointer(pointer.baseAddress!)
        let bytes = pointer.count * MemoryLayout<T>.stride
        var offset = 0
        while offset < bytes {
            raw.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self)
            offset += 4096
        }
    }
}

/// Serializes every test that uses hugetlb pages — across suites and across exit-test child
/// processes — because the kernel's pools are global: one test's pages are another's shortage.
/// A file lock (flock), so child processes take part; never held across an `await`.
func withHugeTLBPool<R>(_ body: () throws -> R) rethrows -> R {
    let fd = open("/tmp/ziggy-hugetlb-tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
    precondition(fd >= 0, "cannot open the hugetlb test lock")
    defer { close(fd) }
    while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
    defer { flock(fd, LOCK_UN) }
    return try body()
}

/// `withHugeTLBPool` for async bodies (the lock is a file lock, taken and released on this task).
func withHugeTLBPoolAsync<R>(_ body: () async throws -> R) async rethrows -> R {
    let fd = open("/tmp/ziggy-hugetlb-tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
    precondition(fd >= 0, "cannot open the hugetlb test lock")
    defer { close(fd) }
    while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
    defer { flock(fd, LOCK_UN) }
    return try await body()
}
