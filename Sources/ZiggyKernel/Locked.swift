import Glibc

/// A value guarded by a pthread mutex; the library's one lock type.
///
/// Not `Synchronization.Mutex`: on Linux its contended path is a futex inside the uninstrumented
/// Swift runtime, so ThreadSanitizer cannot see it synchronize and reports races that are not
/// there — which would drown the real ones `make test-tsan` exists to find. pthread mutexes are
/// understood by every sanitizer. Uncontended cost is the same (~20 ns); the lock is never on an
/// allocation fast path.
public final class Locked<State>: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    // Guarded by the mutex, so the dynamic exclusivity check (two runtime calls) adds nothing.
    @exclusivity(unchecked) @usableFromInline var state: State

    public init(_ state: State) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.state = state
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the state.
    ///
    /// Public (in a module that is no product) only to be inlinable: Swift 6.3 does not inline a
    /// `package` function into another module, so callers paid for an unspecialized generic call
    /// and a heap-allocated closure context per lock.
    @inlinable
    public func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }
}
