import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

/// Fills `buffer` with a pattern that depends on the index.
func fillPattern(_ buffer: inout UnmanagedBuffer<UInt32>) {
    buffer.withUnsafeMutableBufferPointer { elements in
        for index in elements.indices { elements[index] = UInt32(truncatingIfNeeded: index &* 2_654_435_761) ^ 0x5A5A_5A5A }
    }
}

/// Whether the first `count` elements still hold the pattern.
func holdsPattern(_ buffer: borrowing UnmanagedBuffer<UInt32>, count: Int) -> Bool {
    buffer.withUnsafeBufferPointer { elements in
        (0..<count).allSatisfy { elements[$0] == UInt32(truncatingIfNeeded: $0 &* 2_654_435_761) ^ 0x5A5A_5A5A }
    }
}

func address<T>(_ buffer: borrowing UnmanagedBuffer<T>) -> UInt { UInt(bitPattern: buffer.unsafeBaseAddress) }

/// Maps an inaccessible page right after the buffer's mapping, so it cannot grow where it is;
/// nil when something is mapped there already (it cannot grow in place then either).
func blockGrowth<T>(after buffer: borrowing UnmanagedBuffer<T>) -> UnsafeMutableRawPointer? {
    let end = UnsafeMutableRawPointer(buffer.unsafeBaseAddress) + buffer.backing.reservedByteCount
    let guardPage = mmap(
        end, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | KernelConstants.MAP_FIXED_NOREPLACE, -1, 0)
    if let guardPage, guardPage != MAP_FAILED, guardPage != end { munmap(guardPage, 4096) }
    return guardPage == end ? guardPage : nil
}

/// Whether something is mapped right after the buffer's mapping (so it cannot grow in place).
func isBlocked<T>(after buffer: borrowing UnmanagedBuffer<T>) -> Bool {
    ProcessState.capture(hugePages: false).covers(
        UInt(bitPattern: buffer.unsafeBaseAddress) + UInt(buffer.backing.reservedByteCount), byteCount: 4096)
}

func unblock(_ guardPage: UnsafeMutableRawPointer?) {
    if let guardPage { munmap(guardPage, 4096) }
}

@Suite("Resize: mapped buffers")
struct MmapResizeTests {
    @Test("base pages grow by mremap (in place, or remapped when blocked); the record says the new length; counters exact")
    func baseGrow() throws {
        let plan = KernelFaultPlan()
        let allocator = MmapAllocator(pageSize: .base)
        try Kernel.withFaults(plan) { () throws(MmapError) in
            for blocked in [false, true] {
                var buffer = try allocator.allocate(UInt32.self, count: 256 * 1024)
                fillPattern(&buffer)
                let before = address(buffer)
                let guardPage = blocked ? blockGrowth(after: buffer) : nil
                defer { unblock(guardPage) }
                let outcome = try allocator.resize(&buffer, to: 4 * 1024 * 1024)
                #expect(outcome == .inPlace || outcome == .remapped, "\(outcome)")
                let address1 = address(buffer)
                #expect((outcome == .inPlace) == (address1 == before))
                if guardPage != nil { #expect(outcome == .remapped) }
                let intact = holdsPattern(buffer, count: 256 * 1024)
                #expect(intact)
                #expect(buffer.backing.reservedByteCount == 16 * MiB)
                #expect(buffer.backing.mapping?.obtainedPageSize == .base)
                #expect(MappingRecord.of(buffer)?.mapping.length == 16 * MiB)
                #expect(allocator.statistics.liveBytes == 16 * MiB)
                #expect(allocator.statistics.liveAllocations == 1)
                #expect(allocator.mmapStatistics.mappedBytes == 16 * MiB)
                // Still opted out of THP, also for the grown part.
                buffer.withUnsafeMutableBufferPointer { $0.update(repeating: 1) }
                #expect(buffer.pageSizeReport().transparentHugeBytes == 0)
                let address2 = address(buffer)
                #expect(plan.rangesStillMapped.contains { $0.lowerBound == UInt(address2) && $0.count == 16 * MiB })
                buffer.free()
            }
        }
        #expect(plan.rangesStillMapped.isEmpty, "left mapped: \(plan.rangesStillMapped)")
        #expect(allocator.statistics.liveBytes == 0)
        #expect(allocator.statistics.totalAllocations == 4)
        #expect(allocator.mmapStatistics.mappedBytes == 0)
        #expect(allocator.mmapStatistics.obtainedPageSizes[.base] == 4)
    }

    @Test("base pages shrink in place; within the same pages only the count changes")
    func baseShrink() throws {
        let allocator = MmapAllocator(pageSize: .base)
        var buffer = try allocator.allocate(UInt32.self, count: 1024 * 1024)
        fillPattern(&buffer)
        let before = address(buffer)
        let outcome = try allocator.resize(&buffer, to: 1000)
        #expect(outcome == .inPlace)
        let address3 = address(buffer)
        #expect(address3 == before)
        #expect(buffer.backing.reservedByteCount == 4096)
        let intact = holdsPattern(buffer, count: 1000)
        #expect(intact)
        let sameRecord = MappingRecord.of(buffer).map(ObjectIdentifier.init)
        let small = try allocator.resize(&buffer, to: 1020)
        #expect(small == .inPlace)
        #expect(MappingRecord.of(buffer).map(ObjectIdentifier.init) == sameRecord)
        #expect(allocator.statistics.liveBytes == 4080)
        #expect(allocator.mmapStatistics.mappedBytes == 4096)
    }

    @Test("THP (2 MiB aligned) blocked from growing is moved by the kernel into an aligned range, no copy")
    func thpRemapped() throws {
        let allocator = MmapAllocator(pageSize: .transparentHuge)
        let plan = KernelFaultPlan()
        try Kernel.withFaults(plan) { () throws(MmapError) in
            var buffer = try allocator.allocate(UInt32.self, count: 1024 * 1024)
            fillPattern(&buffer)
            let guardPage = blockGrowth(after: buffer)
            defer { unblock(guardPage) }
            let blocked = isBlocked(after: buffer)
            #expect(blocked, "could not block the buffer's growth")
            let outcome = try allocator.resize(&buffer, to: 4 * 1024 * 1024)
            #expect(outcome == .remapped)
            let address4 = address(buffer)
            #expect(address4 % UInt(2 * MiB) == 0)
            #expect(buffer.backing.alignment == 2 * MiB)
            #expect(buffer.backing.mapping?.obtainedPageSize == .transparentHuge)
            let intact = holdsPattern(buffer, count: 1024 * 1024)
            #expect(intact)
            let address5 = address(buffer)
            let address6 = address(buffer)
            #expect(plan.rangesStillMapped == [UInt(address5)..<UInt(address6) + UInt(16 * MiB)])
        }
        #expect(plan.rangesStillMapped.isEmpty)
        #expect(allocator.mmapStatistics.mappedBytes == 0)
    }

    @Test("a populating allocator populates the grown pages (in place), or copies when it cannot grow in place")
    func populating() throws {
        let allocator = MmapAllocator(pageSize: .base, populate: .kernel)
        for blocked in [false, true] {
            var buffer = try allocator.allocate(UInt32.self, count: 1024)
            fillPattern(&buffer)
            let guardPage = blocked ? blockGrowth(after: buffer) : nil
            defer { unblock(guardPage) }
            let plan = KernelFaultPlan()
            let outcome = try Kernel.withFaults(plan) { () throws(MmapError) in try allocator.resize(&buffer, to: 1024 * 1024) }
            if guardPage != nil { #expect(outcome == .moved) } else { #expect(outcome == .inPlace || outcome == .moved) }
            #expect(buffer.backing.mapping?.populate == .kernel)
            #expect(
                plan.calls.contains { $0.call == .madvise && $0.detail.contains("advice=\(KernelConstants.MADV_POPULATE_WRITE)") })
            let intact = holdsPattern(buffer, count: 1024)
            #expect(intact)
        }
        #expect(allocator.statistics.liveAllocations == 0)
    }

    @Test("a failed population of the grown pages is a typed error; the buffer keeps its mapping, contents and count")
    func populateFailure() throws {
        let allocator = MmapAllocator(pageSize: .base, populate: .kernel)
        var buffer = try allocator.allocate(UInt32.self, count: 1024)
        fillPattern(&buffer)
        let before = address(buffer)
        let stats = allocator.statistics
        let mapping = allocator.mmapStatistics
        let plan = KernelFaultPlan.failing(
            .madvise, with: .noMemory, occurrence: nil, detailContains: "advice=\(KernelConstants.MADV_POPULATE_WRITE)")
        #expect(throws: MmapError.self) {
            try Kernel.withFaults(plan) { () throws(MmapError) in try allocator.resize(&buffer, to: 1024 * 1024) }
        }
        let address7 = address(buffer)
        #expect(address7 == before && buffer.count == 1024)
        let intact = holdsPattern(buffer, count: 1024)
        #expect(intact)
        #expect(buffer.backing.reservedByteCount == 4096)
        #expect(plan.rangesStillMapped.isEmpty, "left mapped: \(plan.rangesStillMapped)")
        #expect(allocator.statistics == stats)
        #expect(allocator.mmapStatistics == mapping)
    }

    @Test(
        "an injected mremap (or reservation mmap) failure is a typed error; the buffer is intact",
        arguments: [(Kernel.Call.mremap, ENOMEM), (.mremap, EINVAL), (.mremap, EFAULT), (.mmap, ENOMEM)])
    func remapFailure(call: Kernel.Call, code: Int32) throws {
        let allocator = MmapAllocator(pageSize: call == .mmap ? .transparentHuge : .base)
        var buffer = try allocator.allocate(UInt32.self, count: 1024 * 1024)
        fillPattern(&buffer)
        let guardPage = blockGrowth(after: buffer)
        defer { unblock(guardPage) }
        let before = address(buffer)
        let stats = allocator.statistics
        let plan = KernelFaultPlan.failing(call, with: Errno(rawValue: code), occurrence: nil)
        let error = #expect(throws: MmapError.self) {
            try Kernel.withFaults(plan) { () throws(MmapError) in try allocator.resize(&buffer, to: 4 * 1024 * 1024) }
        }
        switch error {
        case .outOfMemory?, .kernel?: break
        default: Issue.record("expected outOfMemory or kernel, got \(String(describing: error))")
        }
        #expect(String(describing: error).contains("unchanged") || call == .mmap)
        let address8 = address(buffer)
        #expect(address8 == before && buffer.count == 1024 * 1024)
        let intact = holdsPattern(buffer, count: 1024 * 1024)
        #expect(intact)
        #expect(plan.rangesStillMapped.isEmpty)
        #expect(allocator.statistics == stats)
        #expect(allocator.mmapStatistics.mappedBytes == 4 * MiB)
    }

    @Test("bad counts, wrapped and file-mapped buffers are typed errors naming the problem; nothing changes")
    func badInput() throws {
        let allocator = MmapAllocator(pageSize: .base)
        var buffer = try allocator.allocate(UInt32.self, count: 1024)
        fillPattern(&buffer)
        let before = address(buffer)
        for count in [-1, Int.min, Int.max, AllocationRequest.addressSpaceLimit / 4 + 1] {
            let error = #expect(throws: MmapError.self) { try allocator.resize(&buffer, to: count) }
            guard case .request? = error else {
                Issue.record("count \(count): expected a request error, got \(String(describing: error))")
                continue
            }
        }
        let address9 = address(buffer)
        #expect(address9 == before && buffer.count == 1024)
        let intact = holdsPattern(buffer, count: 1024)
        #expect(intact)
        #expect(allocator.statistics.liveAllocations == 1)

        let file = TemporaryFile(bytes: [UInt8](repeating: 3, count: 8192))
        var mapped = try FileMapping.mapReadWrite(file.path, as: UInt8.self)
        let error = #expect(throws: MmapError.self) { try allocator.resize(&mapped.buffer, to: 16384) }
        guard case .request(.invalidArgument(let message))? = error else {
            Issue.record("expected invalidArgument, got \(String(describing: error))")
            return
        }
        #expect(message.contains("file mapping") && message.contains(file.path))
        #expect(mapped.buffer.count == 8192 && mapped.buffer[8191] == 3)
        #expect(mapped.buffer.backing.backend == .file)
    }

    @Test("a buffer of another mapping allocator or of malloc is moved into this one; both allocators' counters exact")
    func foreign() throws {
        let first = MmapAllocator(pageSize: .base)
        let second = MmapAllocator(pageSize: .base)
        var buffer = try first.allocate(UInt32.self, count: 1024)
        fillPattern(&buffer)
        let outcome10 = try second.resize(&buffer, to: 2048)
        #expect(outcome10 == .moved)
        var intact = holdsPattern(buffer, count: 1024)
        #expect(intact)
        #expect(first.statistics.liveAllocations == 0 && first.mmapStatistics.mappedBytes == 0)
        #expect(second.statistics.liveAllocations == 1 && second.mmapStatistics.mappedBytes == 8192)
        var heap = try SystemMemoryAllocator().allocate(UInt32.self, count: 1024)
        fillPattern(&heap)
        let outcome11 = try second.resize(&heap, to: 4096)
        #expect(outcome11 == .moved)
        intact = holdsPattern(heap, count: 1024)
        #expect(intact)
        #expect(heap.backing.backend == .mmap)
    }

    @Test("a pooled buffer is an ordinary record: resized, freed back to the pool, counters exact")
    func pooled() throws {
        let allocator = MmapAllocator(pageSize: .base, reusePoolBytes: 64 * MiB)
        do { _ = try allocator.allocate(UInt8.self, count: 4 * MiB).count }
        var buffer = try allocator.allocate(UInt32.self, count: 1024 * 1024)
        #expect(buffer.backing.mapping?.isReused == true)
        fillPattern(&buffer)
        let outcome = try allocator.resize(&buffer, to: 2 * 1024 * 1024)
        #expect(outcome == .inPlace || outcome == .remapped)
        #expect(buffer.backing.mapping?.isReused == true)
        let intact = holdsPattern(buffer, count: 1024 * 1024)
        #expect(intact)
        buffer.free()
        #expect(allocator.mmapStatistics.pooledBytes == 8 * MiB)
        #expect(allocator.mmapStatistics.mappedBytes == 0)
        #expect(allocator.statistics.liveBytes == 0)
        allocator.drainPool()
        #expect(allocator.mmapStatistics.pooledBytes == 0)
    }

    @Test("NUMA bind to node 0: a grown buffer keeps its policy and every page is on node 0")
    func numaBind() throws {
        let allocator = try NumaAllocator(policy: .bind([0]))
        var buffer = try allocator.allocate(UInt32.self, count: 1024 * 1024)
        fillPattern(&buffer)
        let outcome = try allocator.resize(&buffer, to: 4 * 1024 * 1024)
        #expect(outcome == .inPlace || outcome == .remapped)
        #expect(buffer.backing.mapping?.numaPolicy == .bind([0]))
        buffer.withUnsafeMutableBufferPointer { $0.update(repeating: 1) }
        let placement = try buffer.placement()
        #expect(placement.pagesPerNode == [0: 4096], "\(placement)")
    }

    @Test("a blocked buffer is re-allocated blocked (several VMAs cannot be remapped)")
    func blocked() throws {
        let team = try Team(threads: 2)
        let allocator = try NumaAllocator(blockedFor: team)
        var buffer = try allocator.allocate(UInt32.self, count: 1024 * 1024)
        fillPattern(&buffer)
        let outcome12 = try allocator.resize(&buffer, to: 2 * 1024 * 1024)
        #expect(outcome12 == .moved)
        #expect(buffer.backing.mapping?.blocks.isEmpty == false)
        #expect(buffer.backing.mapping?.blocks.last?.bytes.upperBound == 8 * MiB)
        let intact = holdsPattern(buffer, count: 1024 * 1024)
        #expect(intact)
        #expect(allocator.statistics.liveAllocations == 1)
    }
}
