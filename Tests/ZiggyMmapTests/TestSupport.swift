import Glibc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

let isRoot = geteuid() == 0
let MiB = 1 << 20
let GiB = 1 << 30

extension Optional {
    /// The value as a report prints it, or "nil" (mapping details, `backing.mapping?.…`, are nil
    /// for memory that is not a mapping).
    var printed: String { map { String(describing: $0) } ?? "nil" }
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

/// Runs `body` holding the machine-wide hugetlb pool lock (`HugePagePoolLock`, the protocol every
/// reservation follows; Docs/Guarantees.md), which serializes every test that reserves, maps or
/// compares hugetlb pages — across suites, exit-test children and other processes — because the
/// kernel's pools are global: one test's pages are another's shortage. Reentrant on the calling
/// task (reservations inside take no second lock). A child process that needs the lock must not
/// be awaited inside `body`.
///
/// `make test` runs the suite with `ZIGGY_HUGETLB_LOCK_CHECK=trap`: a hugetlb mapping or a pool
/// write on a test's task without this lock traps, naming it.
///
/// Also takes `/tmp/ziggy-hugetlb-tests.lock` first, the lock suites before the protocol took, so
/// that an older checkout's suite running beside this one stays serialized with it (remove once no
/// such checkout runs here). Best effort: a user who cannot open it skips it.
func withHugeTLBPool<R>(_ body: () throws -> R) rethrows -> R {
    if HugePagePoolLock.isHeldHere { return try body() }
    let legacy = LegacyTestLock()
    defer { legacy.release() }
    return try HugePagePoolLock.withLock { () throws(any Error) in try body() }
}

/// `withHugeTLBPool` for async bodies (the holder is task-local, so it follows the task).
func withHugeTLBPoolAsync<R>(_ body: () async throws -> R) async rethrows -> R {
    if HugePagePoolLock.isHeldHere { return try await body() }
    let legacy = LegacyTestLock()
    defer { legacy.release() }
    return try await HugePagePoolLock.withLock { try await body() }
}

/// The pre-protocol test lock (see `withHugeTLBPool`).
private struct LegacyTestLock {
    let fd: Int32
    init() {
        var fd = open("/tmp/ziggy-hugetlb-tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
        if fd < 0 { fd = open("/tmp/ziggy-hugetlb-tests.lock", O_RDONLY | O_CLOEXEC) }
        if fd >= 0 { while flock(fd, LOCK_EX) != 0 && errno == EINTR {} }
        self.fd = fd
    }
    func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// The pages of `size` no reservation ledger entry accounts for (`ReservationLedger.unrecordedPages`),
/// read holding the pool lock: every reservation that follows the protocol changes the pool and
/// the ledger together, so this stays the same across them — what a test that must let other
/// processes reserve meanwhile can compare.
func unrecordedHugePages(_ size: PageSize = .huge2MiB) -> Int? {
    withHugeTLBPool { ReservationLedger.unrecordedPages(size) }
}
