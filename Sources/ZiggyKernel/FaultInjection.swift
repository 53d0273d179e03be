#if ENABLE_MOCKING
import Glibc
import Synchronization
import SystemPackage

// Fault injection for the seam, compiled only into debug builds (the model is swift-system's
// `Mocking.swift`). A test installs a `KernelFaultPlan` for its task; the seam's calls consult it
// and fail with the plan's `errno` without reaching the kernel. Release builds contain none of this.
extension Kernel {
    /// Every call the seam makes, as fault plans name them.
    @usableFromInline
    package enum Call: String, Sendable, CaseIterable {
        case malloc, realloc, mmap, munmap, mremap, madvise, mincore, mlock, munlock, msync
        case mbind, getMempolicy, movePages
        case open, fstat, fstatfs, fcntl, ftruncate, flock, readFile, writeFile, unlink, mkdir, listDirectory
        case setAffinity, getAffinity, getcpu, getrlimit, threadCreate
    }

    @TaskLocal package static var plan: KernelFaultPlan?
    /// Runs `body` with `plan` installed for this task (and for threads the library starts from it).
    package static func withFaults<R: ~Copyable, E: Error>(_ plan: KernelFaultPlan, _ body: () throws(E) -> R) throws(E) -> R {
        installedPlans.add(1, ordering: .relaxed)
        defer { installedPlans.subtract(1, ordering: .relaxed) }
        var result: R? = nil
        var failure: E? = nil
        $plan.withValue(plan) {
            do throws(E) { result = try body() } catch { failure = error }
        }
        if let failure { throw failure }
        return result.take()!
    }
}

/// Failures to inject into the seam, and the calls it saw, for one test.
///
/// Each rule fails the `occurrence`-th matching call (1-based; nil = every matching call) of one
/// kind, optionally only when the call's detail contains a string. Injected calls do not reach the
/// kernel. Thread-safe.
package final class KernelFaultPlan: Sendable {
    package struct Rule: Sendable {
        package var call: Kernel.Call
        package var errno: Errno
        package var occurrence: Int?
        package var detailContains: String?
        var matched = 0
    }

    private struct State {
        var rules: [Rule]
        var log: [(Kernel.Call, String)] = []
        /// Address ranges mapped through the seam and not unmapped since, sorted, disjoint.
        var live: [Range<UInt>] = []
        /// Every range the seam mapped under this plan (to tell the library's mappings in
        /// /proc/self/maps from the runtime's).
        var everMapped: [Range<UInt>] = []
    }

    private let state: Locked<State>
    private let nthCall: (index: Int, errno: Errno, excluding: Set<Kernel.Call>)?

    package init(_ rules: [Rule] = [], nthCall: (index: Int, errno: Errno, excluding: Set<Kernel.Call>)? = nil) {
        state = Locked(State(rules: rules))
        self.nthCall = nthCall
    }

    /// Fail the `occurrence`-th call of `call` (every call when nil) with `errno`.
    package static func failing(
        _ call: Kernel.Call, with errno: Errno, occurrence: Int? = 1,
        detailContains: String? = nil
    ) -> KernelFaultPlan {
        KernelFaultPlan([Rule(call: call, errno: errno, occurrence: occurrence, detailContains: detailContains)])
    }

    /// Fail the `index`-th call the seam sees, whatever it is (1-based).
    package static func failingNthCall(_ index: Int, with errno: Errno, excluding: Set<Kernel.Call> = []) -> KernelFaultPlan {
        KernelFaultPlan(nthCall: (index, errno, excluding))
    }

    /// Whole pages, as the kernel counts them.
    private static func pages(_ address: UnsafeMutableRawPointer, _ length: Int) -> Range<UInt> {
        let page = UInt(getpagesize())
        let start = UInt(bitPattern: address) / page * page
        let end = (UInt(bitPattern: address) + UInt(max(length, 0)) + page - 1) / page * page
        return start..<max(start, end)
    }

    func noteMapped(_ address: UnsafeMutableRawPointer, _ length: Int) {
        let range = Self.pages(address, length)
        state.withLock { state in
            state.everMapped.append(range)
            // A range the kernel hands out is not mapped already; anything overlapping it in the
            // list was unmapped behind the seam's back, and is dropped.
            state.live = Self.subtracting(range, from: state.live)
            let index = state.live.firstIndex { $0.lowerBound >= range.upperBound } ?? state.live.endIndex
            state.live.insert(range, at: index)
        }
    }

    func noteUnmapped(_ address: UnsafeMutableRawPointer, _ length: Int) {
        let range = Self.pages(address, length)
        state.withLock { $0.live = Self.subtracting(range, from: $0.live) }
    }

    private static func subtracting(_ range: Range<UInt>, from list: [Range<UInt>]) -> [Range<UInt>] {
        var result: [Range<UInt>] = []
        for piece in list {
            if !piece.overlaps(range) {
                result.append(piece)
                continue
            }
            if piece.lowerBound < range.lowerBound { result.append(piece.lowerBound..<range.lowerBound) }
            if range.upperBound < piece.upperBound { result.append(range.upperBound..<piece.upperBound) }
        }
        return result
    }

    /// Address ranges mapped through the seam under this plan and not unmapped again, in
    /// address order: an exact account (an unmap of the wrong range does not cancel a mapping).
    package var rangesStillMapped: [Range<UInt>] { state.withLock { $0.live } }

    /// Every address range mapped through the seam under this plan, unmapped since or not.
    package var rangesEverMapped: [Range<UInt>] { state.withLock { $0.everMapped } }

    /// Bytes mapped through the seam under this plan and not unmapped again.
    package var bytesStillMapped: Int { state.withLock { $0.live.reduce(0) { $0 + Int($1.count) } } }

    /// Calls seen so far, in order, with their details.
    package var calls: [(call: Kernel.Call, detail: String)] { state.withLock { $0.log.map { ($0.0, $0.1) } } }

    func consult(_ call: Kernel.Call, _ detail: String) -> Errno? {
        state.withLock { state in
            state.log.append((call, detail))
            if let nth = nthCall, !nth.excluding.contains(call) {
                let seen = state.log.lazy.filter { !nth.excluding.contains($0.0) }.count
                if seen == nth.index { return nth.errno }
            }
            for index in state.rules.indices where state.rules[index].call == call {
                if let needle = state.rules[index].detailContains, !detail.contains(needle) { continue }
                state.rules[index].matched += 1
                if state.rules[index].occurrence == nil || state.rules[index].occurrence == state.rules[index].matched {
                    return state.rules[index].errno
                }
            }
            return nil
        }
    }
}
#endif
