import Glibc

/// A value guarded by a pthread mutex; the library's one lock type.
///
/// Not `Synchronization.Mutex`: on Linux its contended path is a futex inside the uninstrumented
/// Swift runtime, so ThreadSanitizer cannot see it synchronize and reports races that are not
/// there — which would drown the real ones `make test-tsan` exists to find. pthread mutexes are
/// understood by every sanitizer. Uncontended cost is the same (~20 ns); the lock is never on an
/// allocation fast path.
package final class Locked<State>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var state: State

    package init(_ state: State) {
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
    package func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }
}
