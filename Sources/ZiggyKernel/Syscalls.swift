import CZiggyShims
import Glibc
import SystemPackage

#if ENABLE_MOCKING
import Synchronization
#endif

/// The one seam between ZiggyAlloc and the kernel: every system call the library makes — the
/// core's `malloc` family, `mmap`, `munmap`, `mremap`, `madvise`, `mincore`, `mlock`, `msync`,
/// the NUMA calls, file calls and CPU affinity — is a static function here, and every sysfs or
/// procfs access is in `Sysfs.swift`. The model is apple/swift-system's `Syscalls.swift`.
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
    // MARK: the C heap (the core's system allocator)

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

    // MARK: memory mappings

    package static func mmap(
        _ address: UnsafeMutableRawPointer?, _ length: Int, _ protection: Int32, _ flags: Int32,
        _ fd: Int32 = -1, _ offset: Int = 0
    ) -> Result<UnsafeMutableRawPointer, Errno> {
        #if ENABLE_MOCKING
        if flags & MAP_HUGETLB != 0 { HugePagePoolLock.checkUse("mmap(MAP_HUGETLB) of \(length) B") }
        if let e = injected(.mmap, "len=\(length) flags=0x\(String(flags, radix: 16))") { return .failure(e) }
        #endif
        guard let result = Glibc.mmap(address, length, protection, flags, fd, off_t(offset)), result != MAP_FAILED else {
            return .failure(.current)
        }
        #if ENABLE_MOCKING
        // MAP_FIXED replaces bytes already counted (a reservation the mapping is placed in).
        if flags & MAP_FIXED == 0 { noteMapped(result, length) }
        #endif
        return .success(result)
    }

    /// Address space for `length` bytes at an address aligned to `alignment`, beyond what `mmap`
    /// aligns to: `length + alignment - basePage` bytes reserved `PROT_NONE` (no memory, no huge
    /// pages, `MAP_NORESERVE`), to be filled at ``AlignedReservation/start`` with `MAP_FIXED` (a new
    /// mapping) or `mremap` (a moved one) and then trimmed. The library's one aligned reservation.
    package static func reserveAligned(_ length: Int, alignment: Int, basePage: Int) -> Result<AlignedReservation, Errno> {
        let span = length + alignment - basePage
        switch mmap(nil, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE) {
        case .success(let reserved):
            let start = UnsafeMutableRawPointer(
                bitPattern: (UInt(bitPattern: reserved) + UInt(alignment - 1)) & ~UInt(alignment - 1))!
            return .success(AlignedReservation(reserved: reserved, span: span, start: start, length: length))
        case .failure(let error):
            return .failure(error)
        }
    }

    /// `munmap`.
    package static func munmap(_ address: UnsafeMutableRawPointer, _ length: Int) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.munmap, "len=\(length)") { return .failure(e) }
        #endif
        guard Glibc.munmap(address, length) == 0 else { return .failure(.current) }
        #if ENABLE_MOCKING
        noteUnmapped(address, length)
        #endif
        return .success(())
    }

    /// `mremap` with `MREMAP_MAYMOVE | MREMAP_FIXED`: moves the mapping to exactly `target`,
    /// replacing whatever is mapped there (callers pass an address range they reserved).
    package static func mremap(
        _ address: UnsafeMutableRawPointer, _ oldLength: Int, _ newLength: Int,
        fixedAt target: UnsafeMutableRawPointer
    ) -> Result<UnsafeMutableRawPointer, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.mremap, "old=\(oldLength) new=\(newLength) fixed") { return .failure(e) }
        #endif
        guard let result = zg_mremap_fixed(address, oldLength, newLength, target), result != MAP_FAILED
        else { return .failure(.current) }
        #if ENABLE_MOCKING
        noteUnmapped(address, oldLength)
        noteMapped(result, newLength)
        #endif
        return .success(result)
    }

    /// `mremap`; `mayMove` adds `MREMAP_MAYMOVE`.
    package static func mremap(
        _ address: UnsafeMutableRawPointer, _ oldLength: Int, _ newLength: Int,
        mayMove: Bool
    ) -> Result<UnsafeMutableRawPointer, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.mremap, "old=\(oldLength) new=\(newLength)") { return .failure(e) }
        #endif
        guard let result = zg_mremap(address, oldLength, newLength, mayMove ? KernelConstants.MREMAP_MAYMOVE : 0),
            result != MAP_FAILED
        else { return .failure(.current) }
        #if ENABLE_MOCKING
        noteUnmapped(address, oldLength)
        noteMapped(result, newLength)
        #endif
        return .success(result)
    }

    package static func madvise(_ address: UnsafeMutableRawPointer, _ length: Int, _ advice: Int32) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.madvise, "advice=\(advice) len=\(length)") { return .failure(e) }
        #endif
        return Glibc.madvise(address, length, advice) == 0 ? .success(()) : .failure(.current)
    }

    /// The residency vector of `[address, address + length)` (`mincore`): bit 0 of entry k says
    /// whether base page k is resident. `address` must be page-aligned.
    package static func mincore(_ address: UnsafeMutableRawPointer, _ length: Int) -> Result<[UInt8], Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.mincore, "len=\(length)") { return .failure(e) }
        #endif
        guard length >= 0, length <= 1 << 47 else { return .failure(.invalidArgument) }
        let pages = (length + KernelConstants.basePageByteCount - 1) / KernelConstants.basePageByteCount
        var vector = [UInt8](repeating: 0, count: pages)
        guard Glibc.mincore(address, length, &vector) == 0 else { return .failure(.current) }
        return .success(vector)
    }

    package static func mlock(_ address: UnsafeMutableRawPointer, _ length: Int) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.mlock, "len=\(length)") { return .failure(e) }
        #endif
        return zg_mlock(address, length) == 0 ? .success(()) : .failure(.current)
    }

    package static func munlock(_ address: UnsafeMutableRawPointer, _ length: Int) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.munlock, "len=\(length)") { return .failure(e) }
        #endif
        return zg_munlock(address, length) == 0 ? .success(()) : .failure(.current)
    }

    package static func msync(_ address: UnsafeMutableRawPointer, _ length: Int, _ flags: Int32) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.msync, "len=\(length)") { return .failure(e) }
        #endif
        return Glibc.msync(address, length, flags) == 0 ? .success(()) : .failure(.current)
    }

    // MARK: NUMA policy

    /// `mbind` with `mask` as the node mask (one bit per node).
    package static func mbind(
        _ address: UnsafeMutableRawPointer, _ length: Int, _ mode: Int32, _ mask: [UInt],
        _ flags: UInt32
    ) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.mbind, "mode=\(mode) len=\(length)") { return .failure(e) }
        #endif
        let maxNode = UInt(mask.count * UInt.bitWidth + 1)
        let rc = mask.withUnsafeBufferPointer { words in
            zg_mbind(address, UInt(length), mode, words.isEmpty ? nil : words.baseAddress, words.isEmpty ? 0 : maxNode, flags)
        }
        return rc == 0 ? .success(()) : .failure(.current)
    }

    /// The policy of the mapping at `address` (`MPOL_F_ADDR`), or the calling thread's policy
    /// when `address` is nil: mode and node mask.
    package static func getMempolicy(
        address: UnsafeMutableRawPointer?, maskWords: Int
    ) -> Result<(mode: Int32, mask: [UInt]), Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.getMempolicy) { return .failure(e) }
        #endif
        var mode: Int32 = 0
        var mask = [UInt](repeating: 0, count: maskWords)
        let rc = mask.withUnsafeMutableBufferPointer { words in
            zg_get_mempolicy(
                &mode, words.baseAddress, UInt(maskWords * UInt.bitWidth), address,
                address == nil ? 0 : UInt(KernelConstants.MPOL_F_ADDR))
        }
        return rc == 0 ? .success((mode, mask)) : .failure(.current)
    }

    /// The node holding each page (`move_pages` in query mode); negative entries are `-errno`
    /// (for example `-ENOENT` for a page not yet faulted in).
    package static func queryPageNodes(_ pages: [UnsafeMutableRawPointer?]) -> Result<[Int32], Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.movePages, "pages=\(pages.count)") { return .failure(e) }
        #endif
        var status = [Int32](repeating: 0, count: pages.count)
        var mutablePages = pages
        let rc = mutablePages.withUnsafeMutableBufferPointer { pagePointer in
            status.withUnsafeMutableBufferPointer { statusPointer in
                zg_move_pages(UInt(pages.count), pagePointer.baseAddress, nil, statusPointer.baseAddress, 0)
            }
        }
        return rc == 0 ? .success(status) : .failure(.current)
    }

    // MARK: files

    /// `open` with `O_CLOEXEC` added.
    package static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) -> Result<Int32, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.open, path) { return .failure(e) }
        #endif
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        return fd >= 0 ? .success(fd) : .failure(.current)
    }

    /// The file type bits (`st_mode & S_IFMT`) and size of an open file (`fstat`).
    package static func fileTypeAndSize(_ fd: Int32) -> Result<(type: UInt32, size: Int), Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.fstat) { return .failure(e) }
        #endif
        var type: UInt32 = 0
        var size: Int64 = 0
        return zg_file_type_and_size(fd, &type, &size) == 0 ? .success((type, Int(size))) : .failure(.current)
    }

    /// The file type bits and size of the file at `path` (`stat`).
    package static func pathTypeAndSize(_ path: String) -> Result<(type: UInt32, size: Int), Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.fstat, path) { return .failure(e) }
        #endif
        var type: UInt32 = 0
        var size: Int64 = 0
        return zg_path_type_and_size(path, &type, &size) == 0 ? .success((type, Int(size))) : .failure(.current)
    }

    /// The file system's magic number (`fstatfs`), to recognise procfs and sysfs.
    package static func fileSystemMagic(_ fd: Int32) -> Result<Int64, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.fstatfs) { return .failure(e) }
        #endif
        let magic = zg_fs_magic(fd)
        return magic >= 0 ? .success(magic) : .failure(.current)
    }

    /// Clears `O_NONBLOCK` (files are opened non-blocking so that a FIFO cannot hang the open).
    package static func clearNonblocking(_ fd: Int32) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.fcntl) { return .failure(e) }
        #endif
        return zg_clear_nonblocking(fd) == 0 ? .success(()) : .failure(.current)
    }

    package static func truncate(_ fd: Int32, _ size: Int) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.ftruncate) { return .failure(e) }
        #endif
        return ftruncate(fd, off_t(size)) == 0 ? .success(()) : .failure(.current)
    }

    /// `flock` (`LOCK_EX`, `LOCK_UN`), retried on `EINTR`.
    package static func flock(_ fd: Int32, _ operation: Int32) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.flock) { return .failure(e) }
        #endif
        while zg_flock(fd, operation) != 0 {
            if Glibc.errno != EINTR { return .failure(.current) }
        }
        return .success(())
    }

    /// Writes `text` to standard error, whole, for a message that precedes a trap. Never
    /// injected: a diagnostic must reach the user whatever the test plan says.
    package static func writeToStandardError(_ text: String) { writeAll(text, to: STDERR_FILENO) }

    /// Writes every byte of `text` (NULs included) to standard output, retrying short writes;
    /// stops silently when the output is gone (a closed pipe). Never injected.
    package static func writeToStandardOutput(_ text: String) { writeAll(text, to: STDOUT_FILENO) }

    private static func writeAll(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// `close`. Never injected: the descriptor is gone either way.
    package static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    // MARK: threads and limits

    /// Restricts the calling thread — or the thread with kernel id `thread` — to `cpus`
    /// (`sched_setaffinity`; any CPU numbers).
    package static func setAffinity(_ cpus: [Int], thread: Int32 = 0) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.setAffinity, "\(cpus)") { return .failure(e) }
        #endif
        guard let highest = cpus.max(), cpus.allSatisfy({ $0 >= 0 }) else { return .failure(.invalidArgument) }
        var mask = [UInt64](repeating: 0, count: highest / 64 + 1)
        for cpu in cpus { mask[cpu / 64] |= 1 << UInt64(cpu % 64) }
        return zg_set_thread_affinity(thread, mask, mask.count) == 0 ? .success(()) : .failure(.current)
    }

    /// The calling thread's kernel thread id (`gettid`).
    package static var threadID: Int32 { zg_gettid() }

    /// The CPUs the calling thread may run on (`sched_getaffinity`), ascending.
    package static func getAffinity() -> Result<[Int], Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.getAffinity) { return .failure(e) }
        #endif
        var words = 16
        while true {
            var mask = [UInt64](repeating: 0, count: words)
            if zg_get_affinity(&mask, words) == 0 {
                var cpus: [Int] = []
                for (index, word) in mask.enumerated() where word != 0 {
                    for bit in 0..<64 where word & (1 << UInt64(bit)) != 0 { cpus.append(index * 64 + bit) }
                }
                return .success(cpus)
            }
            // EINVAL: the kernel's mask is wider than ours (more than words × 64 possible CPUs).
            guard Glibc.errno == EINVAL, words < 1 << 16 else { return .failure(.current) }
            words *= 2
        }
    }

    /// A POSIX thread: who is running (`pthread_self`, a thread-local read, cheap enough for
    /// every team region) and waiting for one to end (`pthread_join`).
    package struct Thread: Equatable, Sendable {
        package let handle: pthread_t

        package init(_ handle: pthread_t) { self.handle = handle }

        /// The calling thread.
        package static var current: Thread { Thread(pthread_self()) }

        package static func == (a: Thread, b: Thread) -> Bool { pthread_equal(a.handle, b.handle) != 0 }

        /// Waits for the thread to end. Never injected: a started thread must be joined.
        package func join() { pthread_join(handle, nil) }
    }

    /// `pthread_create` with default attributes: a thread running `start(context)`, or the error.
    package static func createThread(
        _ context: UnsafeMutableRawPointer,
        _ start: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?
    ) -> Result<Thread, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.threadCreate) { return .failure(e) }
        #endif
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, start, context)
        return rc == 0 ? .success(Thread(handle)) : .failure(Errno(rawValue: rc))
    }

    /// The CPU the calling thread runs on now (`sched_getcpu`); -1 when unknown.
    package static func currentCPU() -> Int {
        #if ENABLE_MOCKING
        if injected(.getcpu) != nil { return -1 }
        #endif
        return Int(zg_current_cpu())
    }

    /// `RLIMIT_MEMLOCK` (soft limit, bytes; `Int.max` for unlimited; 0 when unknown).
    package static func memlockLimit() -> Int {
        #if ENABLE_MOCKING
        if injected(.getrlimit) != nil { return 0 }
        #endif
        let limit = zg_memlock_limit()
        return limit < 0 ? 0 : Int(limit)
    }
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
