import ZiggyKernel

/// The work of one region, type-erased so the members' loop is not generic: members call it
/// unretained, and it reaches the body through a `let` (no reference count shared between threads
/// changes during a region).
@usableFromInline
class _RegionWorkBase: @unchecked Sendable {
    #if ENABLE_MOCKING
    var plan: KernelFaultPlan?
    #endif
    /// Set by the team before the region starts; read by the members.
    final var members: UnsafePointer<Team.Member>?
    // Unowned: the team keeps the slots alive, and no reference count changes per region.
    // nil for a nested region, which runs its members one after another on one thread.
    final unowned(unsafe) var errors: MemberSlots<(any Error)?>?
    /// A nested region's first error: its members run in order, so the lowest member's.
    final var firstError: (any Error)?

    @usableFromInline init() {}

    /// Runs member `index`'s share (under the caller's fault plan in debug builds).
    final func enter(_ index: Int) {
        #if ENABLE_MOCKING
        if let plan, Kernel.plan !== plan {
            Kernel.withFaults(plan) { run(index) }
            return
        }
        #endif
        run(index)
    }

    /// Member `index`'s share; records what it throws.
    @usableFromInline func run(_ index: Int) {}

    /// Records member `index`'s error (members write only their own slot; a nested region, whose
    /// members run in order on one thread, keeps the first).
    @usableFromInline final func fail(_ index: Int, _ error: any Error) {
        if let errors {
            errors[index] = error
        } else if firstError == nil {
            firstError = error
        }
    }

    @usableFromInline final func member(_ index: Int) -> Team.Member { members![index] }
}

/// A region's body.
@usableFromInline
final class _RegionWork<E: Error>: _RegionWorkBase, @unchecked Sendable {
    @usableFromInline let body: @Sendable (Team.Member) throws(E) -> Void

    @inlinable
    init(_ body: @escaping @Sendable (Team.Member) throws(E) -> Void) {
        self.body = body
    }

    @inlinable
    override func run(_ index: Int) {
        do throws(E) { try body(member(index)) } catch { fail(index, error) }
    }
}
