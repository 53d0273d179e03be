import CZiggyShims
import Glibc
import SystemPackage

#if ENABLE_MOCKING
import Synchronization
#endif

/// The one seam between ZiggyAlloc and the kernel: every system call the library makes — the
/// core's `malloc` family, `mmap`, `munmap`, `mremap`, `madvise`, `mincore`, `mlock`, `msync`,
/// the NUMA calls, file calls, threads and CPU affinity — is a static function in the
/// `Kernel+*.swift` files (one per subject, with typed flags), and every sysfs or procfs access is
/// in `Sysfs.swift`. The model is apple/swift-system's `Syscalls.swift`.
///
/// In debug builds (`ENABLE_MOCKING`, which `swift test` uses) each call first asks the
/// installed ``KernelFaultPlan`` whether to fail with an injected `errno` instead of reaching the
/// kernel (see `FaultInjection.swift`); release builds compile the check out.
///
/// Every call returns `Result<_, Errno>` with swift-system's typed `Errno`, so callers decide what
/// each failure means; none of them traps.
///
/// The type is public (its members are not) only so that its `@inlinable` members inline into the
/// other modules: Swift 6.3 does not inline `@inlinable` members of a `package` type across
/// modules, which put a call into every allocation and free of the system allocator.
public enum Kernel {
}

extension Errno {
    /// The calling thread's `errno` now.
    package static var current: Errno { Errno(rawValue: Glibc.errno) }
}

#if ENABLE_MOCKING
// The seam's fault-injection check (debug builds only); the plans themselves are in
// FaultInjection.swift.
extension Kernel {
    /// How many plans are installed anywhere: with none, a check is one relaxed load.
    package static let installedPlans = Atomic<Int>(0)

    /// The errno a fault plan injects for this call, if any (and records the call).
    @usableFromInline
    static func injected(_ call: Call, _ detail: @autoclosure () -> String = "") -> Errno? {
        guard installedPlans.load(ordering: .relaxed) > 0, let plan else { return nil }
        return plan.consult(call, detail())
    }

    /// Records a range mapped under the current plan.
    static func noteMapped(_ address: UnsafeMutableRawPointer, _ length: Int) {
        guard installedPlans.load(ordering: .relaxed) > 0, let plan else { return }
        plan.noteMapped(address, length)
    }

    /// Records a range unmapped under the current plan.
    static func noteUnmapped(_ address: UnsafeMutableRawPointer, _ length: Int) {
        guard installedPlans.load(ordering: .relaxed) > 0, let plan else { return }
        plan.noteUnmapped(address, length)
    }
}
#endif

/// Reserved address space with an aligned window `start ..< start + length` (see
/// `Kernel.reserveAligned(_:alignment:basePage:)`).
package struct AlignedReservation {
    package let reserved: UnsafeMutableRawPointer
    package let span: Int
    package let start: UnsafeMutableRawPointer
    package let length: Int

    /// After the window was filled: unmaps the slack before and after it. The munmaps that failed
    /// (their slack stays reserved, harmlessly) are returned for the caller to report.
    package func trim() -> [Errno] {
        var failures: [Errno] = []
        let head = start - reserved
        if head > 0, case .failure(let error) = Kernel.munmap(reserved, head) { failures.append(error) }
        let tail = span - head - length
        if tail > 0, case .failure(let error) = Kernel.munmap(start + length, tail) { failures.append(error) }
        return failures
    }

    /// When the window could not be filled: unmaps all of it.
    package func release() -> [Errno] {
        if case .failure(let error) = Kernel.munmap(reserved, span) { return [error] }
        return []
    }
}
