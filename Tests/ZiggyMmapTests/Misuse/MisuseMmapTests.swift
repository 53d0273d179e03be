import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

// Hostile options and calls on the mapping allocators: page sizes the host lacks or cannot
// supply (strict → typed error, fallback → reported fallback), population thread counts, reuse
// pool sizes, direct allocateRaw calls outside the contract, advice and placement arguments, and
// measuring ranges that are not buffers.

/// Collects fallback events (onFallback runs on the allocating thread).
final class FallbackLog: Sendable {
    // pthread-backed: ThreadSanitizer cannot see Mutex synchronize (make test-tsan)
    let events = Locked<[MmapAllocator.FallbackEvent]>([])
    var all: [MmapAllocator.FallbackEvent] { events.withLock { $0 } }
    var handler: @Sendable (MmapAllocator.FallbackEvent) -> Void { { event in self.events.withLock { $0.append(event) } } }
}

/// Free hugetlb pages of `size` a new mapping could get now (0 when the kernel lacks the size).
func availableHugePages(_ size: PageSize) -> Int { HugePageReservation.Pool.read(size)?.available ?? 0 }

extension MisuseSuite {
    @Suite("Misuse: mapping allocators")
    struct Mapping {
        // MARK: page sizes the host lacks

        @Test(
            "hugetlb pages the pool cannot supply: strict is hugePagesUnavailable naming the pages needed, nothing mapped",
            arguments: [PageSize.huge2MiB, .huge1GiB])
        func strictShortage(size: PageSize) throws {
            withHugeTLBPool {
                guard HugePageReservation.Pool.read(size) != nil else {
                    // The kernel has no pool of this size at all.
                    Hostile.tried(.mmapInit, "pageSize: \(size) (no pool), strict")
                    let allocator = MmapAllocator(pageSize: size)
                    let error = thrownError("\(size) without a pool") { () throws(MmapError) in
                        _ = try allocator.allocate(UInt8.self, count: 1).count
                    }
                    guard case .unsupportedPageSize(size, let reason)? = error else {
                        Issue.record("\(String(describing: error))"); return
                    }
                    #expect(reason.contains("pool"))
                    return
                }
                let page = size.byteCount
                let free = availableHugePages(size)
                // One page more than free, and the boundaries around it: (free + 1) pages − 1 B,
                // exactly, + 1 B; and with alignments up to 1 GiB (slack is never hugetlb).
                var inputs: [(bytes: Int, alignment: Int?, pages: Int)] = [
                    ((free + 1) * page - 1, nil, free + 1), ((free + 1) * page, nil, free + 1),
                    ((free + 1) * page + 1, nil, free + 2), ((free + 1) * page, GiB, free + 1),
                    ((free + 1) * page, page, free + 1),
                ]
                if size == .huge2MiB { inputs.append(((free + 1) * page, 64 * MiB, free + 1)) }
                for populate in [PopulateMode.none, .kernel] {
                    let allocator = MmapAllocator(pageSize: size, populate: populate)
                    for input in inputs {
                        let label =
                            "strict \(size), populate \(populate): \(input.bytes) B, alignment \(input.alignment.map(String.init) ?? "default") with \(free) pages free"
                        Hostile.tried(.allocate, label)
                        let before = allocator.misuseState
                        let process = ProcessState.capture()
                        let error = thrownError(label) { () throws(MmapError) in
                            if let alignment = input.alignment {
                                _ = try allocator.allocate(UInt8.self, count: input.bytes, alignment: alignment).count
                            } else {
                                _ = try allocator.allocate(UInt8.self, count: input.bytes).count
                            }
                        }
                        guard case .hugePagesUnavailable(size, let needed, let detail)? = error else {
                            Issue.record("\(label): \(String(describing: error))")
                            continue
                        }
                        #expect(needed == input.pages, "\(label): says \(needed) pages are needed")
                        #expect(detail.contains("Reserve more") && detail.contains("free"), "\(label): \(detail)")
                        expectMessage(error, contains: ["\(size) pages: \(input.pages) needed, not enough free"], label)
                        #expect(allocator.misuseState == before, "\(label): \(before) → \(allocator.misuseState)")
                        process.expectNothingLeft(
                            lengths: suspectLengths(byteCount: input.bytes, alignment: input.alignment ?? 1, pageSizes: [size]),
                            label)
                    }
                }
            }
        }

        @Test(
            "fallback from hugetlb pages the pool cannot supply is served, reported, counted and given its reasons",
            arguments: [
                MmapAllocator.Fallback.anySmaller, .fallback(to: [.base]), .fallback(to: [.transparentHuge, .base]),
                .fallback(to: [.huge2MiB, .base]),
            ])
        func reportedFallback(policy: MmapAllocator.Fallback) throws {
            withHugeTLBPool {
                // More than both pools hold, so no hugetlb page is taken from anyone.
                let free1G = availableHugePages(.huge1GiB)
                let free2M = availableHugePages(.huge2MiB)
                let bytes = max((free1G + 1) * GiB, (free2M + 1) * 2 * MiB) + 4096 + 12
                let log = FallbackLog()
                let allocator = MmapAllocator(pageSize: .huge1GiB, fallback: policy, onFallback: log.handler)
                let label = "1 GiB, \(policy): \(bytes) B with \(free1G) × 1 GiB and \(free2M) × 2 MiB pages free"
                Hostile.tried(.mmapInit, label)
                let process = ProcessState.capture()
                do {
                    let buffer = try allocator.allocate(UInt8.self, count: bytes)
                    let backing = buffer.backing
                    let chain = policy.chain(for: .huge1GiB)
                    let obtained = backing.mapping?.obtainedPageSize
                    #expect(obtained != .huge1GiB && obtained.map(chain.contains) == true, "\(label): \(backing)")
                    #expect(backing.mapping?.fallbackReason != nil, "\(label): a fallback must say so: \(backing)")
                    let reason = backing.mapping?.fallbackReason ?? ""
                    #expect(reason.contains("hugetlb 1 GiB"), "\(label): the reason must name the page size that failed: \(reason)")
                    if chain.contains(.huge2MiB) && obtained != .huge2MiB {
                        #expect(reason.contains("hugetlb 2 MiB"), "\(label): every failed size is a reason: \(reason)")
                    }
                    #expect(backing.mapping?.requestedPageSize == .huge1GiB)
                    #expect(allocator.mmapStatistics.fallbacks == 1)
                    #expect(allocator.mmapStatistics.obtainedPageSizes == obtained.map { [$0: 1] })
                    let events = log.all
                    #expect(events.count == 1, "\(label): onFallback called \(events.count) times")
                    if let event = events.first {
                        #expect(
                            event.requested == .huge1GiB && event.obtained == obtained && event.byteCount == bytes)
                        #expect(!event.reasons.isEmpty && event.reasons.allSatisfy { !$0.isEmpty }, "\(event)")
                    }
                    #expect(
                        buffer.pageSizeReport().kernelPageSizes.allSatisfy { $0 < GiB },
                        "smaps disagrees: \(buffer.pageSizeReport())")
                } catch {
                    Issue.record("\(label): \(error)")
                }
                #expect(allocator.statistics.liveAllocations == 0 && allocator.mmapStatistics.mappedBytes == 0)
                process.expectNothingLeft(
                    lengths: suspectLengths(byteCount: bytes, pageSizes: [.huge1GiB, .huge2MiB, .transparentHuge, .base]), label)
            }
        }

        @Test("a fallback chain that runs out: the last page size's error, no event, nothing counted")
        func fallbackThatRunsOut() throws {
            withHugeTLBPool {
                let free1G = availableHugePages(.huge1GiB)
                let free2M = availableHugePages(.huge2MiB)
                let bytes = max((free1G + 1) * GiB, (free2M + 1) * 2 * MiB)
                let log = FallbackLog()
                for policy in [
                    MmapAllocator.Fallback.fallback(to: []), .fallback(to: [.huge1GiB, .huge1GiB]), .fallback(to: [.huge2MiB]),
                ] {
                    let allocator = MmapAllocator(pageSize: .huge1GiB, fallback: policy, onFallback: log.handler)
                    let label = "1 GiB, \(policy): \(bytes) B"
                    Hostile.tried(.mmapInit, label)
                    let before = allocator.misuseState
                    let error = thrownError(label) { () throws(MmapError) in
                        _ = try allocator.allocate(UInt8.self, count: bytes).count
                    }
                    guard case .hugePagesUnavailable(let size, _, _)? = error else {
                        Issue.record("\(label): \(String(describing: error))"); continue
                    }
                    #expect(size == policy.chain(for: .huge1GiB).last, "\(label): the error must be the last size tried's")
                    #expect(allocator.misuseState == before)
                }
                #expect(log.all.isEmpty, "no request was served, so no fallback may be reported: \(log.all)")
            }
        }

        // MARK: population thread counts

        @Test(
            "populate .parallel(threads:) below 1 is invalidArgument from the allocation, with nothing left mapped",
            arguments: [0, -1, -2, Int.min, Int.min + 1])
        func populateThreadsBelowOne(threads: Int) throws {
            let bytes = 3 * MiB + 20 * 1024
            let label = ".parallel(threads: \(threads))"
            for kind in ["mmap", "mmap-thp", "mmap-pooled", "numa-bind0"] {
                Hostile.tried(
                    kind == "numa-bind0" ? .numaInit : .mmapInit,
                    "\(kind) populate \(label)")
                let process = ProcessState.capture()
                let outcome: (MmapError?, MisuseState, MisuseState)
                switch kind {
                case "mmap": outcome = Self.populateOnce(MmapAllocator(populate: .parallel(threads: threads)), bytes)
                case "mmap-thp":
                    outcome = Self.populateOnce(
                        MmapAllocator(pageSize: .transparentHuge, populate: .parallel(threads: threads)), bytes)
                case "mmap-pooled":
                    outcome = Self.populateOnce(
                        MmapAllocator(populate: .parallel(threads: threads), reusePoolBytes: 64 * MiB), bytes)
                default:
                    outcome = Self.populateOnce(try NumaAllocator(policy: .bind([0]), populate: .parallel(threads: threads)), bytes)
                }
                let (error, before, after) = outcome
                #expect(
                    error == .invalidArgument("populate: .parallel(threads: \(threads)): a thread count must be at least 1"),
                    "\(kind) \(label): \(String(describing: error))")
                #expect(after == before, "\(kind) \(label): \(before) → \(after)")
                process.expectNothingLeft(
                    lengths: suspectLengths(byteCount: bytes, pageSizes: [.base, .transparentHuge]), "\(kind) \(label)")
            }
        }

        static func populateOnce<A: UnmanagedMemoryAllocator & MisuseInspectable>(
            _ allocator: A, _ bytes: Int
        ) -> (MmapError?, MisuseState, MisuseState)
        where A.Failure == MmapError {
            let before = allocator.misuseState
            var caught: MmapError?
            do throws(MmapError) { _ = try allocator.allocate(UInt8.self, count: bytes).count } catch { caught = error }
            return (caught, before, allocator.misuseState)
        }

        @Test(
            "populate thread counts above the CPUs or the pages are lowered, and the report says how many ran",
            arguments: [1, 2, 3, 1024, Int.max, Int.max - 1])
        func populateThreadsAbove(threads: Int) throws {
            let allowed = Host.allowedCPUs.count
            for (bytes, pages) in [(4096, 1), (3 * MiB + 20 * 1024, (3 * MiB + 20 * 1024) / 4096)] {
                Hostile.tried(.mmapInit, "populate .parallel(threads: \(threads)), \(bytes) B")
                let allocator = MmapAllocator(populate: .parallel(threads: threads))
                let buffer = try allocator.allocate(UInt8.self, count: bytes)
                let expected = max(1, min(threads, allowed, pages))
                #expect(
                    buffer.backing.mapping?.populate == .parallel(threads: expected),
                    "\(threads) threads, \(pages) pages, \(allowed) CPUs: \(buffer.backing)")
                #expect(
                    (buffer.pageSizeReport().rangeResidentBytes ?? 0) >= bytes,
                    "populated but not resident: \(buffer.pageSizeReport())")
            }
        }

        // MARK: reuse pool sizes

        @Test(
            "reusePoolBytes 0 and below means no pool; tiny pools keep nothing; Int.max keeps everything until drained",
            arguments: [0, -1, Int.min, 1, 4095, 4096, 64 * MiB, Int.max - 1, Int.max])
        func reusePoolBytes(capacity: Int) throws {
            let bytes = 4096 * 3 + 5
            let mapped = 4096 * 4
            Hostile.tried(.mmapInit, "reusePoolBytes: \(capacity)")
            Hostile.tried(.numaInit, "reusePoolBytes: \(capacity)")
            let process = ProcessState.capture()
            try Self.exercisePool(MmapAllocator(reusePoolBytes: capacity), capacity: capacity, bytes: bytes, mapped: mapped)
            let numa = try NumaAllocator(policy: .bind([0]), reusePoolBytes: capacity)
            try Self.exercisePool(numa, capacity: capacity, bytes: bytes, mapped: mapped)
            process.expectNothingLeft(lengths: [mapped], "reusePoolBytes \(capacity)")
        }

        static func exercisePool<A: UnmanagedMemoryAllocator>(_ allocator: A, capacity: Int, bytes: Int, mapped: Int) throws
        where A.Failure == MmapError {
            let stats = { (allocator as? MmapAllocator)?.mmapStatistics ?? (allocator as! NumaAllocator).mmapStatistics }
            let first = try allocator.allocate(UInt8.self, count: bytes)
            let address = unsafe first.unsafeBaseAddress
            first.free()
            let pooled = capacity >= mapped
            #expect(stats().pooledBytes == (pooled ? mapped : 0), "capacity \(capacity): \(stats())")
            let second = try allocator.allocate(UInt8.self, count: bytes, zeroed: true)
            #expect((second.backing.mapping?.isReused == true) == pooled, "capacity \(capacity): \(second.backing)")
            if pooled { #expect(unsafe second.unsafeBaseAddress == address) }
            #expect(second.withUnsafeBytes { $0.allSatisfy { $0 == 0 } }, "a zeroed request from the pool must read zero")
            #expect(
                stats().poolHits == (pooled ? 1 : 0) && stats().poolMisses == (capacity > 0 ? (pooled ? 1 : 2) : 0),
                "capacity \(capacity): \(stats())")
            second.free()
            (allocator as? MmapAllocator)?.drainPool()
            (allocator as? NumaAllocator)?.drainPool()
            #expect(stats().pooledBytes == 0 && stats().mappedBytes == 0, "capacity \(capacity): \(stats())")
        }

        @Test("an allocator dropped with a full Int.max pool unmaps everything it held")
        func droppedWithFullPool() throws {
            let lengths = [4096 * 5, 4096 * 7, 4096 * 11]
            Hostile.tried(.mmapInit, "reusePoolBytes: Int.max, dropped holding \(lengths.count) mappings")
            var ranges: [(UInt, Int)] = []
            do {
                let allocator = MmapAllocator(reusePoolBytes: Int.max)
                for length in lengths {
                    let buffer = try allocator.allocate(UInt8.self, count: length - 3)
                    ranges.append((UInt(bitPattern: unsafe buffer.unsafeBaseAddress), buffer.backing.reservedByteCount))
                    buffer.free()
                }
                #expect(allocator.mmapStatistics.pooledBytes == lengths.reduce(0, +))
            }
            // The exact ranges this allocator mapped (a pooled mapping keeps its address and
            // length) are the check. A check for any new mapping of these lengths raced with the
            // other suites running in parallel: ThreadSanitizer's run on a fresh clone saw an
            // unrelated 20480 B mapping appear meanwhile and reported it as left behind.
            Race.expectUnmapped(ranges, "dropped pooled allocator")
        }

        // MARK: allocateRaw outside its contract

        @Test(
            "allocateRaw called directly with a zero-byte request (the contract says > 0): a typed error or a buffer freed cleanly")
        func allocateRawZeroBytes() throws {
            let request = try AllocationRequest(UInt8.self, count: 0, site: LeakReport.CallSite())
            // Core allocators hand back a valid zero-byte allocation; releasing it restores the counters.
            let system = SystemMemoryAllocator()
            Hostile.tried(.systemAllocateRaw, "AllocationRequest(count: 0)")
            let raw = try system.allocateRaw(request)
            unsafe raw.release()
            #expect(system.statistics.liveAllocations == 0 && system.statistics.liveBytes == 0)
            let debug = DebugMemoryAllocator("misuse", wrapping: SystemMemoryAllocator())
            Hostile.tried(.debugAllocateRaw, "AllocationRequest(count: 0)")
            let tracked = try debug.allocateRaw(request)
            unsafe tracked.release()
            #expect(debug.leakReport.leaks.isEmpty)
            // Mapping allocators: nothing can be mapped for 0 bytes; the error must say so, not
            // blame a page size or a pool.
            for (name, allocator) in [("base", MmapAllocator()), ("THP", MmapAllocator(pageSize: .transparentHuge))] {
                Hostile.tried(.mmapAllocateRaw, "\(name): AllocationRequest(count: 0)")
                let error = thrownError("\(name) allocateRaw(0 B)") { () throws(MmapError) in
                    unsafe _ = try allocator.allocateRaw(request)
                }
                #expect(error?.allowsFallback == false, "\(name): \(String(describing: error))")
                #expect(allocator.statistics == .zero)
            }
            let numa = try NumaAllocator(policy: .bind([0]))
            Hostile.tried(.numaAllocateRaw, "bind(0): AllocationRequest(count: 0)")
            Hostile.tried(.allocateRawRequirement, "generic call, NumaAllocator: AllocationRequest(count: 0)")
            let numaError = thrownError("numa allocateRaw(0 B)") { () throws(MmapError) in
                unsafe _ = try Self.genericRaw(numa, request)
            }
            #expect(numaError?.allowsFallback == false, "\(String(describing: numaError))")
            withHugeTLBPool {
                let huge = MmapAllocator(pageSize: .huge2MiB)
                Hostile.tried(.mmapAllocateRaw, "huge2MiB: AllocationRequest(count: 0)")
                let error = thrownError("huge2MiB allocateRaw(0 B)") { () throws(MmapError) in
                    unsafe _ = try huge.allocateRaw(request)
                }
                if case .hugePagesUnavailable? = error {
                    Issue.record("zero-byte hugetlb request: \(String(describing: error))")
                }
                #expect(huge.statistics == .zero)
            }
        }

        @Test("ScopedAllocator.allocateRaw with a zero-byte request on a fresh arena (exit test): no trap")
        func scopedAllocateRawZeroBytes() async {
            Hostile.tried(.scopedAllocateRaw, "fresh arena: AllocationRequest(count: 0)")
            Hostile.tried(.debugAllocateRaw, "debug(fresh arena): AllocationRequest(count: 0)")
            await #expect(processExitsWith: .success) {
                let request = try AllocationRequest(UInt8.self, count: 0, site: LeakReport.CallSite())
                let arena = ScopedAllocator()
                let raw = try arena.allocateRaw(request)
                unsafe raw.release()
            }
            await #expect(processExitsWith: .success) {
                let request = try AllocationRequest(UInt8.self, count: 0, site: LeakReport.CallSite())
                let debug = DebugMemoryAllocator("misuse", wrapping: ScopedAllocator())
                let raw = try debug.allocateRaw(request)
                unsafe raw.release()
            }
            // With a chunk in place the same request is answered (and counted) without a trap.
            do throws(AllocationError) {
                let arena = ScopedAllocator()
                try arena.allocate(UInt8.self, count: 1).free()
                let raw = try arena.allocateRaw(try AllocationRequest(UInt8.self, count: 0, site: LeakReport.CallSite()))
                unsafe raw.release()
                #expect(arena.statistics.liveAllocations == 0)
            } catch {
                Issue.record("\(error)")
            }
        }

        static func genericRaw<A: UnmanagedMemoryAllocator & ~Copyable>(
            _ allocator: borrowing A, _ request: AllocationRequest
        ) throws(A.Failure) -> RawAllocation {
            try allocator.allocateRaw(request)
        }

        // MARK: advice

        @Test("advise with ranges outside the buffer is invalidArgument naming the range and changes nothing")
        func adviseRanges() throws {
            let allocator = MmapAllocator()
            var buffer = try allocator.allocate(UInt8.self, count: 4 * 4096)
            buffer.fill(with: 0xA5)
            let count = buffer.count
            let hostile: [Range<Int>] = [
                -1..<0, -1..<count, 0..<(count + 1), count..<(count + 1), Int.min..<0,
                Int.min..<Int.max, (count + 1)..<Int.max, (Int.max - 1)..<Int.max, -4096..<(-1),
            ]
            for range in hostile {
                for advice in [MemoryAdvice.dontNeed, .willNeed, .free] {
                    Hostile.tried(.adviseElements, "mmap, \(advice), elements \(range)")
                    let error = thrownError("advise(\(advice), \(range))") { () throws(MmapError) in
                        try buffer.advise(advice, elements: range)
                    }
                    #expect(
                        error == .invalidArgument("advise: range \(range) is outside 0..<\(count)"), "\(String(describing: error))")
                }
            }
            #expect(buffer.toArray().allSatisfy { $0 == 0xA5 }, "a rejected advice changed the contents")
            // Empty ranges anywhere inside are no-ops, also at the ends.
            for range in [0..<0, count..<count, 4096..<4096] {
                Hostile.tried(.adviseElements, "mmap, dontNeed, empty elements \(range)")
                try buffer.advise(.dontNeed, elements: range)
            }
            #expect(buffer.toArray().allSatisfy { $0 == 0xA5 }, "an empty advice changed the contents")
            // Destructive advice over a range that covers no whole page drops nothing.
            for range in [1..<4096, 4095..<8193, 1..<(count - 1)] {
                Hostile.tried(.adviseElements, "mmap, dontNeed, unaligned elements \(range)")
                buffer.fill(with: 0x5A)
                try buffer.advise(.dontNeed, elements: range)
                let values = buffer.toArray()
                let firstWhole = (range.lowerBound + 4095) / 4096 * 4096
                let lastWhole = range.upperBound / 4096 * 4096
                for (index, value) in values.enumerated() where value != 0x5A {
                    let inside = index >= firstWhole && index < lastWhole
                    #expect(inside, "dontNeed over \(range) zeroed element \(index), outside the whole pages inside the range")
                    if !inside { break }
                }
            }
        }

        @Test(
            "every advice on every kind of buffer: applies to mappings (through debug wrappers too), invalidArgument naming the backend elsewhere"
        )
        func adviceEverywhere() throws {
            let advices: [MemoryAdvice] = [.willNeed, .dontNeed, .free, .hugePage, .noHugePage, .sequential, .random]
            // Buffers that are not mappings: advise must refuse, naming the backend.
            let system = SystemMemoryAllocator()
            var heap = try system.allocate(UInt8.self, count: 8192)
            let arena = ScopedAllocator()
            var scoped = try arena.allocate(UInt8.self, count: 8192)
            var storage = [UInt8](repeating: 0, count: 64)
            for advice in advices {
                for (name, backend) in [("system", "system"), ("scoped", "scoped"), ("wrapped", "wrapped")] {
                    Hostile.tried(.adviseElements, "\(name) buffer, \(advice)")
                    let error: MmapError? =
                        switch name {
                        case "system": thrownError("advise system") { () throws(MmapError) in try heap.advise(advice) }
                        case "scoped": thrownError("advise scoped") { () throws(MmapError) in try scoped.advise(advice) }
                        default:
                            storage.withUnsafeMutableBufferPointer { pointer in
                                var wrapped = unsafe UnmanagedBuffer(unsafeWrapping: pointer)
                                return thrownError("advise wrapped") { () throws(MmapError) in try wrapped.advise(advice) }
                            }
                        }
                    guard case .invalidArgument(let message)? = error else {
                        Issue.record("\(name), \(advice): \(String(describing: error))"); continue
                    }
                    #expect(
                        message.contains("advise needs a buffer from MmapAllocator") && message.contains("\(backend) memory"),
                        "\(message)")
                }
            }
            scoped.free()
            // Mappings: every advice applies (or is refused by the kernel as a typed error).
            let mmap = MmapAllocator()
            let debug = DebugMemoryAllocator("misuse", wrapping: MmapAllocator(pageSize: .transparentHuge))
            for advice in advices {
                Hostile.tried(.adviseElements, "mmap buffer, \(advice)")
                var mapped = try mmap.allocate(UInt64.self, count: 1000)
                try mapped.advise(advice)
                Hostile.tried(.adviseElements, "debug(THP) buffer, \(advice)")
                var tracked = try debug.allocate(UInt64.self, count: 1000)
                try tracked.advise(advice)
            }
            #expect(mmap.statistics.liveAllocations == 0 && debug.leakReport.leaks.isEmpty)
        }

        @Test("an empty buffer from a mapping allocator: advice, placement, flush and its backing")
        func emptyMappedBuffer() throws {
            let allocator = MmapAllocator()
            var empty = try allocator.allocate(UInt64.self, count: 0)
            Hostile.tried(.adviseElements, "empty mmap buffer, willNeed")
            Hostile.tried(.placementElements, "empty mmap buffer, maximumSamples 1")
            let report = try empty.placement(maximumSamples: 1)
            #expect(report.totalPages == 0 && report.queriedPages == 0 && report.presentPages == 0, "\(report)")
            do throws(MmapError) {
                try empty.advise(.willNeed)
            } catch {
                Issue.record("advise on an empty mmap buffer: \(error)")
            }
            // No memory at all, so no mapping: the report says so (not "wrapped", not "mmap").
            #expect(empty.backing.backend == .empty && !empty.backing.isOwning, "empty buffer from MmapAllocator: \(empty.backing)")
        }

        // MARK: placement

        @Test(
            "placement(maximumSamples:) below 1 is invalidArgument; 1 samples; Int.max queries every page",
            arguments: [0, -1, Int.min, 1, 2, Int.max, Int.max - 1])
        func placementSamples(samples: Int) throws {
            let allocator = MmapAllocator(populate: .kernel)
            let buffer = try allocator.allocate(UInt8.self, count: 64 * 4096)
            let system = SystemMemoryAllocator()
            let heap = try system.allocate(UInt8.self, count: 3 * 4096)
            let file = temporaryPath("placement")
            writeFile(file, [UInt8](repeating: 1, count: 5 * 4096))
            defer { unlink(file) }
            let mapped = try FileMapping.mapReadOnly(file, as: UInt8.self, populate: true)
            Hostile.tried(.placementElements, "mmap buffer, maximumSamples \(samples)")
            Hostile.tried(.placementElements, "system buffer, maximumSamples \(samples)")
            Hostile.tried(.readOnlyWithBuffer, "file mapping, maximumSamples \(samples)")
            if samples < 1 {
                let expected = MmapError.invalidArgument("placement: maximumSamples is \(samples); it must be at least 1")
                #expect(
                    thrownError("mmap placement") { () throws(MmapError) in _ = try buffer.placement(maximumSamples: samples) }
                        == expected)
                #expect(
                    thrownError("heap placement") { () throws(MmapError) in _ = try heap.placement(maximumSamples: samples) }
                        == expected)
                #expect(
                    thrownError("file placement") { () throws(MmapError) in
                        _ = try mapped.withBuffer { buffer throws(MmapError) in try buffer.placement(maximumSamples: samples) }
                    }
                        == expected)
                return
            }
            let report = try buffer.placement(maximumSamples: samples)
            #expect(report.totalPages == 64 && report.queriedPages == min(64, samples), "\(report)")
            #expect(report.presentPages == report.queriedPages && report.nodes == [0], "\(report)")
            #expect(report.isSampled == (samples < 64))
            let heapReport = try heap.placement(maximumSamples: samples)
            #expect(heapReport.queriedPages == min(heapReport.totalPages, samples))
            let fileReport = try mapped.withBuffer { buffer throws(MmapError) in try buffer.placement(maximumSamples: samples) }
            #expect(fileReport.totalPages == 5 && fileReport.queriedPages == min(5, samples), "\(fileReport)")
            for node in [-1, 1, Int.max, Int.min, 0] {
                Hostile.tried(.placementFraction, "fraction(onNode: \(node))")
                #expect(report.fraction(onNode: node) == (node == 0 ? 1 : 0))
            }
        }

        // MARK: measuring ranges that are not buffers

        @Test(
            "PageSize.Report.measure over hostile byte counts of a real mapping: a report, never a crash",
            arguments: [0, 1, -1, Int.min, 4095, 4097])
        func measureSmallCounts(byteCount: Int) throws {
            let allocator = MmapAllocator()
            let buffer = try allocator.allocate(UInt8.self, count: 2 * 4096)
            // PageSize.Report.measure is package-internal (buffers reach it through pageSizeReport()):
            // tested here, not counted as a public entry point.
            let report = buffer.withUnsafeBytes { PageSize.Report.measure(address: $0.baseAddress!, byteCount: byteCount) }
            #expect(report.obtainedPageSize == .base, "\(report)")
        }

        @Test(
            "PageSize.Report.measure with byte counts near Int.max (exit test): a report, not an overflow trap",
            arguments: [Int.max, Int.max - 4094, Int.max - 4095])
        func measureHugeCounts(byteCount: Int) async {
            await #expect(processExitsWith: .success) { [byteCount = byteCount as Int] in
                let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
                defer { page.deallocate() }  // LeakSanitizer fails the child on a leak
                _ = PageSize.Report.measure(address: page, byteCount: byteCount).description
            }
        }

        @Test(
            "pageSizeReport() of empty buffers — system, mmap, wrapped, empty file (exit tests): a report, not a trap",
            arguments: [
                "UnmanagedBuffer()", "mmap count 0", "system count 0 alignment 64", "empty file (read-only)",
                "PageSize.Report.measure(0x8, 0)",
            ])
        func emptyPageSizeReport(kind: String) async {
            if !kind.hasPrefix("PageSize.Report") { Hostile.tried(.allocate, "pageSizeReport of \(kind)") }
            await #expect(processExitsWith: .success) { [kind = kind as String] in
                switch kind {
                case "UnmanagedBuffer()": _ = UnmanagedBuffer<UInt8>().pageSizeReport().description
                case "mmap count 0": _ = try MmapAllocator().allocate(Int.self, count: 0).pageSizeReport().description
                case "system count 0 alignment 64":
                    _ = try SystemMemoryAllocator().allocate(UInt8.self, count: 0, alignment: 64).pageSizeReport().description
                case "empty file (read-only)":
                    let path = "/tmp/ziggy-misuse-empty-\(getpid())"
                    writeFile(path, [])
                    let mapped = try FileMapping.mapReadOnly(path, as: UInt8.self)
                    unlink(path)  // before the call that may trap
                    _ = mapped.withBuffer { $0.pageSizeReport() }.description
                default: _ = PageSize.Report.measure(address: UnsafeRawPointer(bitPattern: 8)!, byteCount: 0).description
                }
            }
        }

        // MARK: small value entry points of the mapping layer

        @Test(
            "PageSize(hugeTLBByteCount:), MmapAllocator.Fallback.chain(for:), HugePageReservation.Pool.read/freePages and THP modes over hostile values"
        )
        func valueEntryPoints() {
            for bytes in integerBoundaries + [4096, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1, GiB - 1, GiB, GiB + 1, 4 << 20] {
                let size = PageSize(hugeTLBByteCount: bytes)
                #expect(
                    size == (bytes == 2 * MiB ? .huge2MiB : bytes == GiB ? .huge1GiB : nil),
                    "\(bytes) → \(String(describing: size))")
            }
            let order: [PageSize] = [.huge1GiB, .huge2MiB, .transparentHuge, .base]
            let policies: [MmapAllocator.Fallback] = [
                .strict, .anySmaller, .fallback(to: []), .fallback(to: PageSize.allCases + PageSize.allCases),
                .fallback(to: [.huge1GiB]), .fallback(to: [.base, .base]),
            ]
            // PageSize(hugeTLBByteCount:) (above), chain(for:) and freePages(_:node:) are package-internal since 1.0 (the allocators and
            // the shortage errors use them): tested here, not counted as public entry points.
            for policy in policies {
                for size in PageSize.allCases {
                    let chain = policy.chain(for: size)
                    #expect(chain.first == size && Set(chain).count == chain.count, "\(policy) for \(size): \(chain)")
                    if case .anySmaller = policy { #expect(chain == Array(order.drop { $0 != size })) }
                    if case .strict = policy { #expect(chain == [size]) }
                }
            }
            for size in [PageSize.base, .transparentHuge] {
                Hostile.tried(.poolRead, "read(\(size))")
                #expect(HugePageReservation.Pool.read(size) == nil)
                #expect(HugePageReservation.Pool.freePages(size, node: 0) == nil)
            }
            for node in [-1, Int.min, Int.max, Host.pastLastNode, 1 << 20] {
                for size in [PageSize.huge2MiB, .huge1GiB] {
                    #expect(HugePageReservation.Pool.freePages(size, node: node) == nil, "node \(node)")
                }
            }
            for raw in ["", " always", "ALWAYS", "[madvise]", "always [madvise] never", "never\n", "unavailable", "always"] {
                let mode = PageSize.TransparentHugePages.Mode(kernelName: raw)
                #expect(
                    mode == (raw == "always" ? .always : raw == "unavailable" ? .unavailable : nil),
                    "\(raw.debugDescription) → \(String(describing: mode))")
            }
            // details(as:) asks a backing for another backend's details (ZiggyMmap attaches its
            // MappingDetails through the record `backing.mapping` reads).
            Hostile.tried(.backingDetails, "system buffer's backing, details(as: MappingDetailsRecord.self)")
            do {
                let heap = try SystemMemoryAllocator().allocate(UInt8.self, count: 1)
                #expect(heap.backing.details(as: MappingDetailsRecord.self) == nil)
                #expect(heap.backing.mapping == nil)
            } catch {
                Issue.record("\(error)")
            }
        }

        // flush(waiting:) on a buffer that is not a read-write file mapping (mmap, system, empty
        // memory) no longer compiles: it is a member of FileMapping.ReadWriteBuffer only
        // (Tests/CompileFail/flush-needs-read-write-mapping.swift). What remains to misuse at run
        // time is a read-write mapping with nothing to write back.
        @Test(
            "flush(waiting:) of read-write mappings with nothing to write back (empty, unwritten, already flushed) succeeds",
            arguments: [true, false])
        func flushNothingToWrite(waiting: Bool) throws {
            let path = "/tmp/ziggy-misuse-\(getpid())-flush-\(waiting)"
            writeFile(path, [UInt8](repeating: 5, count: 8192))
            defer { unlink(path) }
            Hostile.tried(.flush, "empty read-write mapping (count 0), waiting: \(waiting)")
            let empty = try FileMapping.mapReadWrite(path, as: UInt8.self, count: 0)
            #expect(empty.buffer.isEmpty && empty.buffer.backing.backend == .file)
            try empty.flush(waiting: waiting)
            Hostile.tried(.flush, "unwritten read-write mapping, flushed twice, waiting: \(waiting)")
            let mapped = try FileMapping.mapReadWrite(path, as: UInt8.self)
            try mapped.flush(waiting: waiting)
            try mapped.flush(waiting: waiting)
            #expect(mapped.buffer.count == 8192 && mapped.buffer[8191] == 5)
            _ = consume mapped
            #expect(fileSize(path) == 8192)
        }
    }
}
