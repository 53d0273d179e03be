@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

// Resizing a mapped buffer: `resizeRaw` of MmapAllocator and NumaAllocator. Records are
// immutable, so a mapping that changes length gets a new record that replaces the old one in the
// buffer's deallocator; every kernel call comes before the counters and the records change, so a
// thrown error leaves the old mapping, record and counters exactly as they were.
//
// - Base pages and THP: `mremap`, in place first. A mapping that must move is moved by the kernel
//   (`MREMAP_MAYMOVE`), into an aligned reservation when its alignment is above a base page. An
//   allocator that populates grows in place only (then populates the new tail): a moved mapping
//   whose tail then failed to populate could not be put back at its old address, so such a buffer
//   is copied instead (populating costs about as much as the copy anyway).
// - hugetlb: the kernel refuses to grow a hugetlb mapping, so growth is a new mapping and a copy
//   (the pool must hold old + new pages at once; checked first). Shrinking unmaps the tail pages.
// - Blocked buffers (one VMA per block, each bound to its node) are re-allocated blocked: nil.
extension MappingEngine {
    func resize(_ allocation: RawAllocation, to request: AllocationRequest) throws(MmapError) -> RawAllocation? {
        // Zero bytes would unmap the whole mapping under the buffer: outside the contract.
        guard request.byteCount > 0, allocation.byteCount > 0 else {
            throw .invalidArgument(
                "resizeRaw of \(allocation.byteCount) B to \(request): both sizes must be at least one byte "
                    + "(resize(_:to:) frees a buffer resized to 0 and allocates an empty one afresh)")
        }
        guard let record = allocation.deallocator.ownerObject as? MappingRecord, record.counters === counters,
            allocation.base == record.mapping.base, allocation.byteCount <= record.mapping.length,
            request.alignment <= record.mapping.alignment,
            record.mapping.schedule == nil
        else { return nil }
        let mapping = record.mapping
        let size = mapping.obtained
        let pageBytes = size.byteCount
        let newLength = (request.byteCount + pageBytes - 1) / pageBytes * pageBytes
        if newLength == mapping.length {
            counted(allocation, request, newLength: newLength, size)
            return RawAllocation(base: mapping.base, byteCount: request.byteCount, deallocator: allocation.deallocator)
        }
        var base = mapping.base
        var populated = record.populate
        if size.isHugeTLB {
            guard newLength < mapping.length else {
                try checkHugeTLBGrowth(mapping, newLength: newLength)
                return nil
            }
            if case .failure(let error) = Kernel.munmap(mapping.base + newLength, mapping.length - newLength) {
                throw .kernel(
                    call: "munmap", errno: error,
                    request: "shrinking \(mapping.length) B of \(size) pages to \(newLength) B (the buffer is unchanged)")
            }
        } else {
            guard let moved = try remap(mapping, newLength: newLength, populated: &populated) else { return nil }
            base = moved
        }
        let thp =
            size == .transparentHuge && mapping.transparentHugeBytes != nil
            ? PageSize.Report.measure(address: base, byteCount: newLength).transparentHugeBytes : nil
        let replacement = MappingRecord(
            .init(
                base: base, length: newLength, obtained: size, alignment: mapping.alignment, locked: mapping.locked,
                policy: mapping.policy, policyInherited: mapping.policyInherited, transparentHugeBytes: thp,
                schedule: nil, scheduleTeam: nil),
            counters: counters, pool: record.pool, requested: record.requested, fallbackReason: record.fallbackReason,
            populate: populated)
        replacement.reused = record.reused
        counted(allocation, request, newLength: newLength, size)
        // The old record describes a mapping that no longer exists: drop it without releasing.
        allocation.deallocator.forgetOwner()
        return RawAllocation(base: base, byteCount: request.byteCount, deallocator: .owner(replacement))
    }

    /// A resize counts as one free of the old buffer and one allocation of the new, whichever
    /// way it is done (so the counts do not depend on whether the kernel could grow in place).
    private func counted(_ allocation: RawAllocation, _ request: AllocationRequest, newLength: Int, _ size: PageSize) {
        let oldLength = (allocation.deallocator.ownerObject as? MappingRecord)?.mapping.length ?? 0
        counters.freed(requestBytes: allocation.byteCount, mappedBytes: oldLength)
        counters.allocated(
            requestBytes: request.byteCount, mappedBytes: newLength, obtained: size, fellBack: false, poolHit: nil)
    }

    /// A base or THP mapping at `newLength`: its (possibly new) address, or nil when it must be
    /// copied. Populates a grown tail as the options say, and updates `populated` to what happened.
    private func remap(
        _ mapping: MappingRecord.Mapping, newLength: Int, populated: inout PopulateMode
    ) throws(MmapError) -> UnsafeMutableRawPointer? {
        let base = mapping.base
        let oldLength = mapping.length
        switch Kernel.mremap(base, oldLength, newLength, mayMove: false) {
        case .success:
            guard newLength > oldLength, populated != .none else { return base }
            do throws(MmapError) {
                populated = try populate(base + oldLength, newLength - oldLength, mapping.obtained, schedule: nil)
            } catch {
                // Put the mapping back as it was (munmap of our own tail cannot fail short of a bug).
                if !MappingRecord.unmap(base + oldLength, newLength - oldLength, what: "the grown tail at \(base + oldLength)") {
                    counters.unmapFailed()
                }
                throw error
            }
            return base
        case .failure(let error) where error == .noMemory && newLength > oldLength:
            // Something is mapped after the buffer (or memory is short: the move says which).
            break
        case .failure(let error):
            throw remapError(error, mapping, newLength)
        }
        if populated != .none { return nil }
        if mapping.alignment <= PageSize.basePageByteCount {
            switch Kernel.mremap(base, oldLength, newLength, mayMove: true) {
            case .success(let moved): return moved
            case .failure(let error): throw remapError(error, mapping, newLength)
            }
        }
        // The kernel picks a new address aligned to a base page only: reserve address space with
        // room to align (PROT_NONE, no memory) and move the mapping exactly into it.
        let reservation: AlignedReservation
        switch Kernel.reserveAligned(newLength, alignment: mapping.alignment, basePage: PageSize.basePageByteCount) {
        case .success(let reserved): reservation = reserved
        case .failure(let error): throw remapError(error, mapping, newLength)
        }
        if case .failure(let error) = Kernel.mremap(base, oldLength, newLength, fixedAt: reservation.start) {
            reportSlack(reservation.release(), reservation)
            throw remapError(error, mapping, newLength)
        }
        reportSlack(reservation.trim(), reservation)
        return reservation.start
    }

    private func remapError(_ error: Errno, _ mapping: MappingRecord.Mapping, _ newLength: Int) -> MmapError {
        let what = "resizing \(mapping.length) B of \(mapping.obtained) pages to \(newLength) B (the buffer is unchanged)"
        if error == .resourceTemporarilyUnavailable && mapping.locked {
            return .memoryLockLimit(byteCount: newLength, limit: Kernel.memlockLimit(), errno: error)
        }
        if error == .noMemory { return .outOfMemory(byteCount: newLength, backend: "mremap, \(what)", errno: error) }
        return .kernel(call: "mremap", errno: error, request: what)
    }

    /// Growing hugetlb maps the new pages while the buffer still holds its old ones: refuse
    /// (strict allocators) before anything is mapped when the pool cannot hold both. An allocator
    /// with a fallback chain moves instead, falling back like any allocation (and saying so).
    private func checkHugeTLBGrowth(_ mapping: MappingRecord.Mapping, newLength: Int) throws(MmapError) {
        guard chain.count == 1 else { return }
        let size = mapping.obtained
        let needed = newLength / size.byteCount
        var free: Int? = HugePageReservation.Pool.read(size)?.available
        if let nodes = placement?.poolNodes, !nodes.isEmpty {
            free = nodes.reduce(0 as Int?) { sum, node in
                sum.flatMap { total in HugePageReservation.Pool.freePages(size, node: node).map { total + $0 } }
            }
        }
        guard let free, free < needed else { return }
        throw HugePageReservation.Pool.shortage(
            size, neededPages: needed, node: placement?.singleNode,
            cause: "resizing a buffer of \(mapping.length / size.byteCount) \(size) pages to \(needed) needs the old and "
                + "the new pages at once (the kernel cannot grow a hugetlb mapping in place, so the contents are "
                + "copied), and \(free) are free")
    }
}
