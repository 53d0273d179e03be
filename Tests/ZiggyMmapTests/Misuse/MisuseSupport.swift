import Glibc
import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

// The misuse suite's shared pieces: the hostile-input log the coverage script reads, the
// "nothing left behind" check every failure goes through, and small helpers for typed errors.
//
// Every misuse suite is nested in `MisuseSuite`, which is `.serialized`: the checks compare
// process-wide state (/proc/self/maps, the hugetlb pools) before and after each hostile input, so
// the misuse tests must not run concurrently with one another. (Other suites may still run beside
// them in a full `swift test`; the mapping check therefore looks only for mappings of the exact
// lengths a failed request could have left, which other tests do not produce by chance — the
// sizes used here are deliberately odd.)

/// The parent of every misuse suite (see the file comment).
@Suite("Misuse", .serialized)
struct MisuseSuite {}

// MARK: the hostile-input log

/// What the suite tries, one line per hostile input — entry point, input, test — appended to the
/// file named by `$ZIGGY_MISUSE_LOG` (nothing is written without it).
/// `Tests/Misuse/check-entry-point-coverage` runs the suite with the variable set, and counts the
/// entry points that were really exercised and the distinct (entry point, input) pairs tried.
/// Lines are written with one `write(2)` on an `O_APPEND` descriptor, so exit-test children and
/// concurrent threads may record too.
enum Hostile {
    private static let descriptor: Int32 = {
        guard let path = getenv("ZIGGY_MISUSE_LOG") else { return -1 }
        return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    }()

    /// Records that `input` was tried against `entry`.
    static func tried(_ entry: EntryPoint, _ input: String) {
        guard descriptor >= 0 else { return }
        let test = Test.current.map { $0.displayName ?? $0.name } ?? "?"
        let fields = [entry.rawValue, input, test].map { field in
            field.replacing("\\", with: "\\\\").replacing("\t", with: "\\t").replacing("\n", with: "\\n")
                .replacing("\u{0}", with: "\\0")
        }
        let line = Array((fields.joined(separator: "\t") + "\n").utf8)
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}

// MARK: nothing left behind

/// The "nothing left behind" check on the shared process-state snapshot (`ProcessState`, in
/// ZiggySupport): take one before the hostile input with `ProcessState.capture()`, check after.
///
/// The pools are machine-wide: any process following the hugetlb pool lock protocol may reserve
/// pages at any time it does not hold the lock. So `capture()` reads them only when taken holding
/// that lock (inside `withHugeTLBPool`, which must then last until the check), and they are
/// compared only then; otherwise the check compares only what is this process's own, its mappings.
extension ProcessState {
    /// The order of the pools in a report: 2 MiB, then 1 GiB (KiB keys of `hugePages`).
    private static let poolOrder = [2048, 1 << 20]

    /// Records an issue for every mapping created since this snapshot whose length is one of
    /// `lengths` (what the failed request could have left mapped), and for a changed hugetlb pool.
    func expectNothingLeft(
        lengths: [Int], _ what: @autoclosure () -> String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let suspect = Set(lengths.filter { $0 > 0 })
        // A mapping split out of one that already existed (ThreadSanitizer's shadow, a heap) is
        // not new memory; what a request leaves behind lies where nothing was mapped before.
        if let maps = mappings, !suspect.isEmpty,
            case let left = ProcessState.capture(hugePages: false).newMappings(since: self, atLeast: 1)
                .filter({ new in
                    suspect.contains(new.byteCount)
                        && !maps.contains { $0.start <= new.start && new.end <= $0.end }
                }), !left.isEmpty
        {
            let text = left.map {
                "0x\(String($0.start, radix: 16))-0x\(String($0.end, radix: 16)) (\($0.byteCount) B) \($0.path)"
            }
            Issue.record("\(what()): left mapped: \(text.joined(separator: ", "))", sourceLocation: sourceLocation)
        }
        guard let hugePages else { return }
        if !HugePagePoolLock.isHeldHere {
            Issue.record(
                "\(what()): the snapshot was taken holding the hugetlb pool lock but checked without it",
                sourceLocation: sourceLocation)
            return
        }
        let pools = ProcessState.readHugePagePools()
        if pools != hugePages {
            Issue.record(
                "\(what()): nr_hugepages (2 MiB, 1 GiB) changed from \(Self.poolOrder.map { hugePages[$0] }) to \(Self.poolOrder.map { pools[$0] })",
                sourceLocation: sourceLocation)
        }
    }
}

/// The lengths a failed mapping request of `byteCount` bytes could leave mapped: the rounded
/// mapping for each page size tried, and the address-space reservation for an alignment above
/// the page size.
func suspectLengths(byteCount: Int, alignment: Int = 1, pageSizes: [PageSize]) -> [Int] {
    guard byteCount > 0, byteCount <= AllocationRequest.addressSpaceLimit else { return [] }
    var lengths: [Int] = []
    for size in pageSizes {
        let page = size.byteCount
        let length = (byteCount + page - 1) / page * page
        lengths.append(length)
        let effective = max(alignment, size == .base ? PageSize.basePageByteCount : page)
        if effective > (size.isHugeTLB ? page : PageSize.basePageByteCount) {
            lengths.append(length + effective - PageSize.basePageByteCount)
        }
    }
    return lengths
}

/// What an allocator's failed request must leave exactly as it was: its statistics, its mapping
/// statistics, its arena's reserved bytes, its debug tracker's leaks and what it wraps.
struct MisuseState: Hashable, CustomStringConvertible {
    var statistics: AllocationStatistics
    var mmap: MmapAllocator.Statistics? = nil
    var reservedBytes: Int? = nil
    var leaks: Int? = nil
    var base: [MisuseState] = []

    /// What must return to its earlier value once the buffers of a successful request are freed
    /// (cumulative counters, pools and arenas may grow).
    var live: [Int] {
        [statistics.liveBytes, statistics.liveAllocations, mmap?.mappedBytes ?? 0, leaks ?? 0] + base.flatMap(\.live)
    }

    var description: String {
        var parts = ["\(statistics)"]
        if let mmap { parts.append("mmap: \(mmap)") }
        if let reservedBytes { parts.append("arena reserves \(reservedBytes) B") }
        if let leaks { parts.append("\(leaks) tracked") }
        parts += base.map { "base: \($0)" }
        return parts.joined(separator: "; ")
    }
}

/// Allocators whose state a misuse test can compare before and after.
protocol MisuseInspectable: ~Copyable {
    var misuseState: MisuseState { get }
}

extension SystemMemoryAllocator: MisuseInspectable {
    var misuseState: MisuseState { MisuseState(statistics: statistics) }
}

extension ScopedAllocator: MisuseInspectable {
    var misuseState: MisuseState { MisuseState(statistics: statistics, reservedBytes: reservedBytes) }
}

extension MmapAllocator: MisuseInspectable {
    var misuseState: MisuseState { MisuseState(statistics: statistics, mmap: mmapStatistics) }
}

extension NumaAllocator: MisuseInspectable {
    var misuseState: MisuseState { MisuseState(statistics: statistics, mmap: mmapStatistics) }
}

extension DebugMemoryAllocator: MisuseInspectable where Base: MisuseInspectable & ~Copyable {
    var misuseState: MisuseState {
        MisuseState(statistics: statistics, leaks: leakReport.leaks.count, base: [base.misuseState])
    }
}

// MARK: typed errors

/// Runs `body`, which must throw, and returns what it threw (nil, with an issue recorded, when it
/// returned normally).
func thrownError<E: Error>(
    _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(E) -> Void
) -> E? {
    do throws(E) {
        try body()
    } catch {
        return error
    }
    Issue.record("\(what()) did not throw", sourceLocation: sourceLocation)
    return nil
}

/// Whether two errors are the same value (both must be `Hashable`: every error of this library is).
func sameError(_ a: any Error, _ b: any Error) -> Bool {
    guard let x = a as? any Hashable, let y = b as? any Hashable else { return false }
    return AnyHashable(x) == AnyHashable(y)
}

/// Records an issue unless `error`'s message contains every one of `parts`.
func expectMessage(
    _ error: (any Error)?, contains parts: [String], _ what: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let error else { return }
    let text = String(describing: error)
    for part in parts where !text.contains(part) {
        Issue.record("\(what()) message \"\(text)\" does not contain \"\(part)\"", sourceLocation: sourceLocation)
    }
}

/// The core request error inside `error`: itself for core allocators, `.request(x)` for ZiggyMmap's.
func requestError(_ error: any Error) -> AllocationError? {
    if let core = error as? AllocationError { return core }
    if let mmap = error as? MmapError, case .request(let core) = mmap { return core }
    return nil
}

// MARK: environment

enum Host {
    /// `vm.overcommit_memory`: with 1 (always), a lazy mapping of any size succeeds, so requests
    /// "larger than the machine" are not refused and those inputs are skipped.
    static let overcommit = Kernel.readInt("/proc/sys/vm/overcommit_memory") ?? 0
    static var refusesHugeCommit: Bool { overcommit != 1 }
    /// The nodes with memory, and one number past the highest node.
    static let topology = NumaTopology.current()
    static var pastLastNode: Int { (topology.nodeIDs.max ?? 0) + 1 }
    /// CPUs this process may run on (not narrowed by a team that pinned the reading thread).
    static let allowedCPUs = AllowedCPUs.current() ?? [0]
    /// Whether the test binary runs under ThreadSanitizer (concurrent tests then do fewer rounds):
    /// its runtime's symbols are visible, or `TSAN_OPTIONS` is set (as `make test-tsan` does).
    static let underThreadSanitizer: Bool = dlsym(nil, "__tsan_init") != nil || getenv("TSAN_OPTIONS") != nil
    /// Whether a sanitizer runtime aborts the process on a malloc larger than it supports instead
    /// of returning NULL (without `allocator_may_return_null=1`, which `make test-asan` and
    /// `make test-tsan` set): the requests that ask malloc for terabytes are then skipped.
    static let sanitizerAbortsOnHugeMalloc: Bool = {
        for (symbol, variable) in [("__tsan_init", "TSAN_OPTIONS"), ("__asan_init", "ASAN_OPTIONS")] where dlsym(nil, symbol) != nil
        {
            let options = getenv(variable).map { String(cString: $0) } ?? ""
            if !options.contains("allocator_may_return_null=1") { return true }
        }
        return false
    }()
}

/// The integers every Int parameter is tried with, beyond its own domain's edges.
let integerBoundaries: [Int] = [0, 1, -1, Int.min, Int.max, Int.max - 1, Int.max - 7, Int.max - 4095]

/// A class that (wrongly) promises a trivial layout: every allocation of it must be a typed
/// `nonTrivialElement` error, never a buffer.
final class NotTrivialClass: TrivialElement {
    var value = 0
}

/// A struct holding a reference (a String), also wrongly conforming.
struct NotTrivialStruct: TrivialElement {
    var name = "x"
}

/// A struct holding a closure, wrongly conforming.
struct NotTrivialClosure: TrivialElement {
    var body: () -> Void = {}
}

/// A struct with a weak reference, wrongly conforming.
struct NotTrivialWeak: TrivialElement {
    weak var object: AnyObject?
}

/// A trivial type the compiler does not infer `BitwiseCopyable` for (public, not frozen): the
/// allocation goes through the `TrivialElement` overload and must succeed.
public struct PublicPair: TrivialElement {
    public var a = 0.0
    public var b = 0.0
}

/// Three bytes, stride 3, alignment 1: sizes that are not multiples of anything larger.
struct ThreeBytes: Equatable {
    var a: UInt8 = 0, b: UInt8 = 0, c: UInt8 = 0
}

/// A fresh path under /tmp for this process (nothing is created).
func temporaryPath(_ tag: String) -> String {
    "/tmp/ziggy-misuse-\(getpid())-\(tag)-\(UInt32.random(in: 0 ... .max))"
}

/// Writes `bytes` to a new file at `path`.
func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "cannot create \(path)")
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

/// The size of the file at `path` (nil when it does not exist).
func fileSize(_ path: String) -> Int? {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : nil
}

/// The text an exit test's child wrote to stderr.
func standardError(_ result: ExitTest.Result?) -> String {
    String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
}

/// A counter any thread may bump (for closures that must be `@Sendable`).
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func add(_ n: Int = 1) { count.add(n, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

/// Values collected from any thread.
final class Collector: Sendable {
    // pthread-backed: ThreadSanitizer cannot see Mutex synchronize (make test-tsan)
    private let storage = Locked<[Int]>([])
    func append(_ value: Int) { storage.withLock { $0.append(value) } }
    var values: [Int] { storage.withLock { $0 } }
}
