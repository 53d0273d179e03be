/// Cleanup actions and adopted buffers, run in reverse order when the scope ends — normally or
/// by a thrown error (the .NET `DeferScope`).
///
/// Noncopyable, so its end is lexical: a local `let scope = DeferScope()` runs its actions when the
/// enclosing scope exits, after everything declared later. ``run(_:)`` guarantees the same for a
/// closure: its body only borrows the scope, so the scope cannot be moved, swapped or consumed
/// out of the closure, and its actions always run when `run` returns or throws.
/// Not thread-safe: one owner at a time.
public struct DeferScope: ~Copyable {
    private let actions = ActionList()

    public init() {}

    deinit {
        actions.runAll()
    }

    /// Runs `body` with a new scope, then the scope's actions in reverse order — also when `body`
    /// throws.
    public static func run<R: ~Copyable, E: Error>(_ body: (borrowing DeferScope) throws(E) -> R) throws(E) -> R {
        let scope = DeferScope()
        return try body(scope)
    }

    /// Registers `action` to run at the end of the scope.
    public func `defer`(_ action: @escaping () -> Void) {
        actions.append(.closure(action))
    }

    /// Takes ownership of `buffer`, to free it at the end of the scope, and returns its elements.
    /// The pointer is valid until the scope ends (and no longer: hence the unsafe pointer type).
    public func adopt<T>(_ buffer: consuming UnmanagedBuffer<T>) -> UnsafeMutableBufferPointer<T> {
        let count = buffer.count
        let allocation = unsafe buffer.unsafeDetach()
        actions.append(.release(allocation))
        return UnsafeMutableBufferPointer(start: allocation.base.assumingMemoryBound(to: T.self), count: count)
    }

    /// Number of pending actions (buffers and closures), for the package's tests.
    package var pendingCount: Int { actions.count }
}

/// The scope's actions, in a box so that a borrowed scope can register more.
private final class ActionList {
    enum Action {
        case closure(() -> Void)
        case release(RawAllocation)
    }

    private var actions: [Action] = []

    var count: Int { actions.count }

    func append(_ action: Action) { actions.append(action) }

    func runAll() {
        while let action = actions.popLast() {
            switch action {
            case .closure(let body): body()
            case .release(let allocation): allocation.release()
            }
        }
    }
}
