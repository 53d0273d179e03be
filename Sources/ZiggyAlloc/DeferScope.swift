/// Cleanup actions and adopted buffers, run in reverse order when the scope ends — normally or
/// by a thrown error (the .NET `DeferScope`).
///
/// Noncopyable, so its end is lexical: a local `var scope = DeferScope()` runs its actions when the
/// enclosing scope exits, after everything declared later. ``run(_:)`` does the same for a closure.
/// Not thread-safe: one owner at a time.
public struct DeferScope: ~Copyable {
    enum Action {
        case closure(() -> Void)
        case release(RawAllocation)
    }

    private var actions: [Action] = []

    public init() {}

    deinit {
        for action in actions.reversed() {
            switch action {
            case .closure(let body): body()
            case .release(let allocation): allocation.release()
            }
        }
    }

    /// Runs `body` with a new scope, then the scope's actions in reverse order — also when `body`
    /// throws.
    public static func run<R: ~Copyable, E: Error>(_ body: (inout DeferScope) throws(E) -> R) throws(E) -> R {
        var scope = DeferScope()
        return try body(&scope)
    }

    /// Registers `action` to run at the end of the scope.
    public mutating func `defer`(_ action: @escaping () -> Void) {
        actions.append(.closure(action))
    }

    /// Takes ownership of `buffer`, to free it at the end of the scope, and returns its elements.
    /// The pointer is valid until the scope ends.
    public mutating func adopt<T: BitwiseCopyable>(_ buffer: consuming UnmanagedBuffer<T>) -> UnsafeMutableBufferPointer<T> {
        let count = buffer.count
        let allocation = buffer.unsafeDetach()
        actions.append(.release(allocation))
        return UnsafeMutableBufferPointer(start: allocation.base.assumingMemoryBound(to: T.self), count: count)
    }

    /// Number of pending actions (buffers and closures).
    public var pendingCount: Int { actions.count }
}
