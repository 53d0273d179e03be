import Glibc
import SystemPackage

/// The machine-wide lock over the kernel's hugetlb pools: one protocol for every process that
/// reserves huge pages or needs the pools to stay as they are.
///
/// **The lock** is an exclusive `flock(2)` on `/sys/kernel/mm/hugepages/hugepages-<size>kB/nr_hugepages`
/// for every hugetlb size the kernel offers, taken smallest size first (2048 kB, then 1048576 kB
/// on x86-64) and released together. Those files exist for as long as the pools do, are the same
/// for every process whatever its environment, can be opened read-only (which is all `flock`
/// needs) by any user, and the kernel releases the lock when its holder exits, however it ends.
///
/// **The rules.** (1) Every change of a pool's size — growing or shrinking `nr_hugepages`, global
/// or per node, and adding or removing the reservation's ledger entry in the same critical
/// section — is made holding the lock (``HugePageReservation``, its release, `releaseStale()`,
/// ziggy-bench's reservations). (2) A process that needs the pools unchanged over a span — a test
/// comparing them before and after, a benchmark using the pages it reserved — holds the lock for
/// the whole span. (3) Holders do not wait for another process that needs the lock (a child
/// process that reserves) while they hold it. Programs that map hugetlb pages without taking part
/// are outside the protocol: nothing can stop them, and a check comparing free pages beside them
/// can fail.
///
/// **Within a process** the lock is reentrant for the task (or thread) that holds it and for the
/// threads `ThreadRunner` starts from it; other threads of the process wait, like other
/// processes. The holder is a task-local flag; the descriptors belong to the outermost
/// ``withLock(waiting:onFailure:_:)`` (or to the process, with ``holdUntilExit(waiting:)``).
package enum HugePagePoolLock {
    /// Whether the current task (or thread) holds the lock through ``withLock(waiting:onFailure:_:)``.
    @TaskLocal package static var heldByTask = false
    /// Whether this process took the lock for the rest of its life (``holdUntilExit(waiting:)``).
    private static let heldByProcess = Locked(false)

    /// Whether the caller holds the lock: its task does, or the whole process.
    package static var isHeldHere: Bool { heldByTask || heldByProcess.withLock { $0 } }

    /// Why the lock could not be taken: the call, its `errno`, and the file.
    package struct Failure: Error, Sendable {
        package let call: String
        package let errno: Errno
        package let path: String
    }

    /// The files whose `flock` is the lock, in the order they are taken: the global
    /// `nr_hugepages` of each hugetlb size, smallest first (empty without hugetlb support).
    package static var paths: [String] {
        let root = "/sys/kernel/mm/hugepages"
        let sizes = Kernel.listDirectory(root).compactMap { name -> (Int, String)? in
            guard name.hasPrefix("hugepages-"), name.hasSuffix("kB"),
                let kilobytes = Int(name.dropFirst("hugepages-".count).dropLast(2))
            else { return nil }
            return (kilobytes, "\(root)/\(name)/nr_hugepages")
        }
        return sizes.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Runs `body` holding the lock; reentrant (see the type). `waiting` is called once, before
    /// blocking, when another holder has it. A lock that cannot be taken becomes `onFailure`'s
    /// error and `body` does not run. On a kernel without hugetlb pools there is nothing to lock.
    package static func withLock<R, E: Error>(
        waiting: () -> Void = {}, onFailure: (Failure) -> E, _ body: () throws(E) -> R
    ) throws(E) -> R {
        if isHeldHere { return try body() }
        let descriptors: [Int32]
        switch acquire(waiting: waiting) {
        case .success(let taken): descriptors = taken
        case .failure(let failure): throw onFailure(failure)
        }
        defer { release(descriptors) }
        var result: R?
        var failure: E?
        $heldByTask.withValue(true) {
            do throws(E) { result = try body() } catch { failure = error }
        }
        if let failure { throw failure }
        return result!
    }

    /// ``withLock(waiting:onFailure:_:)`` for callers that cannot go on without the lock (tests,
    /// tools): a lock that cannot be taken traps with the reason.
    package static func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try withLock(
            onFailure: { failure -> E in
                fatalError("cannot take the hugetlb pool lock: \(failure.call) \(failure.path): \(failure.errno)")
            }, body)
    }

    /// The async form, for tests whose span holds an `await` (the flag is task-local, so it
    /// follows the task across threads). A lock that cannot be taken traps with the reason.
    package static func withLock<R>(_ body: () async throws -> R) async rethrows -> R {
        if isHeldHere { return try await body() }
        let descriptors: [Int32]
        switch acquire(waiting: {}) {
        case .success(let taken): descriptors = taken
        case .failure(let failure):
            fatalError("cannot take the hugetlb pool lock: \(failure.call) \(failure.path): \(failure.errno)")
        }
        defer { release(descriptors) }
        return try await $heldByTask.withValue(true) { try await body() }
    }

    /// Takes the lock for the rest of this process's life — for a tool that reserves pages for its
    /// whole run (ziggy-bench): the kernel releases it when the process exits, however it ends,
    /// and every later ``withLock(waiting:onFailure:_:)`` in the process finds it held.
    package static func holdUntilExit(waiting: () -> Void = {}) -> Result<Void, Failure> {
        if isHeldHere { return .success(()) }
        return acquire(waiting: waiting).map { _ in heldByProcess.withLock { $0 = true } }
    }

    /// Opens and locks every file of ``paths`` in order; on a failure, releases what it took.
    private static func acquire(waiting: () -> Void) -> Result<[Int32], Failure> {
        var descriptors: [Int32] = []
        var waited = false
        for path in paths {
            let fd: Int32
            switch Kernel.open(path, .readOnly) {
            case .success(let opened): fd = opened
            case .failure(let error):
                release(descriptors)
                return .failure(Failure(call: "open", errno: error, path: path))
            }
            descriptors.append(fd)
            var locked = Kernel.flock(fd, LOCK_EX | LOCK_NB)
            if case .failure(.wouldBlock) = locked {
                if !waited { waiting() }
                waited = true
                locked = Kernel.flock(fd, LOCK_EX)
            }
            if case .failure(let error) = locked {
                release(descriptors)
                return .failure(Failure(call: "flock", errno: error, path: path))
            }
        }
        return .success(descriptors)
    }

    private static func release(_ descriptors: [Int32]) {
        for fd in descriptors.reversed() {
            _ = Kernel.flock(fd, LOCK_UN)
            Kernel.close(fd)
        }
    }

    #if ENABLE_MOCKING
    /// What debug builds do when the pools are used without the lock: `ZIGGY_HUGETLB_LOCK_CHECK`
    /// `trap` (the test suite's setting), `log`, or nothing (unset).
    private static let checkMode: String? = Kernel.environment("ZIGGY_HUGETLB_LOCK_CHECK")

    /// Debug builds: `what` (a hugetlb mapping, a write to a pool) is about to use the pools;
    /// under `ZIGGY_HUGETLB_LOCK_CHECK` the calling task must hold the lock (rule 2, as the test
    /// suite follows it).
    static func checkUse(_ what: @autoclosure () -> String) {
        guard let mode = checkMode, mode == "trap" || mode == "log", !isHeldHere else { return }
        let message =
            "ZIGGY_HUGETLB_LOCK_CHECK: \(what()) without holding the hugetlb pool lock "
            + "(wrap the span in withHugeTLBPool / HugePagePoolLock.withLock)\n"
        Kernel.writeToStandardError(message)
        if mode == "trap" { fatalError(message) }
    }
    #endif
}
