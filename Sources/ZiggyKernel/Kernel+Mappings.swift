import CZiggyShims
import Glibc
import SystemPackage

// Memory mappings: mmap, munmap, mremap, madvise, mincore, mlock, msync.
extension Kernel {
    /// What a mapping's pages may be used for (`PROT_*`); empty is `PROT_NONE`.
    package struct Protection: OptionSet, Sendable {
        package let rawValue: Int32
        package init(rawValue: Int32) { self.rawValue = rawValue }
        package static let read = Protection(rawValue: PROT_READ)
        package static let write = Protection(rawValue: PROT_WRITE)
        package static let readWrite: Protection = [.read, .write]
    }

    /// How a mapping is made (`MAP_*`).
    package struct MapFlags: OptionSet, Sendable {
        package let rawValue: Int32
        package init(rawValue: Int32) { self.rawValue = rawValue }
        package static let `private` = MapFlags(rawValue: MAP_PRIVATE)
        package static let shared = MapFlags(rawValue: MAP_SHARED)
        package static let anonymous = MapFlags(rawValue: MAP_ANONYMOUS)
        package static let fixed = MapFlags(rawValue: MAP_FIXED)
        package static let noReserve = MapFlags(rawValue: MAP_NORESERVE)
        /// `MAP_HUGETLB` with the page size encoded (`MAP_HUGE_SHIFT`); `pageBytes` a power of two.
        package static func hugeTLB(pageBytes: Int) -> MapFlags {
            MapFlags(rawValue: MAP_HUGETLB | (Int32(pageBytes.trailingZeroBitCount) << KernelConstants.MAP_HUGE_SHIFT))
        }
        package var isHugeTLB: Bool { rawValue & MAP_HUGETLB != 0 }
    }

    /// `mmap`: a new mapping, or one placed at `address` with ``MapFlags/fixed``.
    package static func mmap(
        _ address: UnsafeMutableRawPointer?, _ length: Int, _ protection: Protection, _ flags: MapFlags,
        _ fd: Int32 = -1, _ offset: Int = 0
    ) -> Result<UnsafeMutableRawPointer, Errno> {
        #if ENABLE_MOCKING
        if flags.isHugeTLB { HugePagePoolLock.checkUse("mmap(MAP_HUGETLB) of \(length) B") }
        if let e = injected(.mmap, "len=\(length) flags=0x\(String(flags.rawValue, radix: 16))") { return .failure(e) }
        #endif
        guard let result = Glibc.mmap(address, length, protection.rawValue, flags.rawValue, fd, off_t(offset)),
            result != MAP_FAILED
        else { return .failure(.current) }
        #if ENABLE_MOCKING
        // MAP_FIXED replaces bytes already counted (a reservation the mapping is placed in).
        if !flags.contains(.fixed) { noteMapped(result, length) }
        #endif
        return .success(result)
    }

    /// Address space for `length` bytes at an address aligned to `alignment`, beyond what `mmap`
    /// aligns to: `length + alignment - basePage` bytes reserved `PROT_NONE` (no memory, no huge
    /// pages, `MAP_NORESERVE`), to be filled at ``AlignedReservation/start`` with `MAP_FIXED` (a new
    /// mapping) or `mremap` (a moved one) and then trimmed. The library's one aligned reservation.
    package static func reserveAligned(_ length: Int, alignment: Int, basePage: Int) -> Result<AlignedReservation, Errno> {
        let span = length + alignment - basePage
        switch mmap(nil, span, [], [.private, .anonymous, .noReserve]) {
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

    /// `msync`: `MS_SYNC` when `waiting`, else `MS_ASYNC`.
    package static func msync(_ address: UnsafeMutableRawPointer, _ length: Int, waiting: Bool) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.msync, "len=\(length)") { return .failure(e) }
        #endif
        return Glibc.msync(address, length, waiting ? MS_SYNC : MS_ASYNC) == 0 ? .success(()) : .failure(.current)
    }
}
