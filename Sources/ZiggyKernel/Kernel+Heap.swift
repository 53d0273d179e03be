import CZiggyShims
import Glibc
import SystemPackage

// The C heap: the core's system allocator and the library's bookkeeping.
extension Kernel {
    /// `malloc`, or `calloc` when `zeroed`.
    @inlinable @inline(__always)
    package static func heapAllocate(_ byteCount: Int, zeroed: Bool) -> UnsafeMutableRawPointer? {
        #if ENABLE_MOCKING
        if injected(.malloc, "bytes=\(byteCount)") != nil { return nil }
        #endif
        return zeroed ? Glibc.calloc(1, byteCount) : Glibc.malloc(byteCount)
    }

    /// `posix_memalign` (alignment a power of two ≥ the pointer size).
    @inlinable
    package static func heapAllocate(_ byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer? {
        #if ENABLE_MOCKING
        if injected(.malloc, "bytes=\(byteCount) align=\(alignment)") != nil { return nil }
        #endif
        var memory: UnsafeMutableRawPointer?
        return posix_memalign(&memory, alignment, byteCount) == 0 ? memory : nil
    }

    /// `realloc` (`byteCount` > 0): the block resized in place or moved by the C library, or nil
    /// when it has no memory — the original block is then still valid and unchanged.
    @inlinable
    package static func heapRealloc(_ pointer: UnsafeMutableRawPointer, _ byteCount: Int) -> UnsafeMutableRawPointer? {
        #if ENABLE_MOCKING
        if injected(.realloc, "bytes=\(byteCount)") != nil { return nil }
        #endif
        return Glibc.realloc(pointer, byteCount)
    }

    /// `free`. Never injected: releasing cannot fail.
    @inlinable @inline(__always)
    package static func heapFree(_ pointer: UnsafeMutableRawPointer) {
        Glibc.free(pointer)
    }

    /// `posix_memalign` for the library's own bookkeeping (a statistics record): never injected,
    /// since a test's injected allocation failure is aimed at the buffers it allocates, and a
    /// record the library cannot get is not a request the caller could fix.
    package static func bookkeepingAllocate(_ byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer? {
        var memory: UnsafeMutableRawPointer?
        return posix_memalign(&memory, alignment, byteCount) == 0 ? memory : nil
    }

    /// A thread-specific slot whose destructor runs, with the slot's value, when a thread that set
    /// it exits (`pthread_key_create`, `pthread_setspecific`).
    package struct ThreadExitSlot: @unchecked Sendable {
        private let key: pthread_key_t

        /// A slot calling `destructor` at thread exit; nil when the process has no keys left.
        package init?(destructor: @convention(c) (UnsafeMutableRawPointer?) -> Void) {
            var key = pthread_key_t()
            guard pthread_key_create(&key, destructor) == 0 else { return nil }
            self.key = key
        }

        /// Sets the calling thread's value.
        package func set(_ value: UnsafeMutableRawPointer?) { pthread_setspecific(key, value) }
    }
}
