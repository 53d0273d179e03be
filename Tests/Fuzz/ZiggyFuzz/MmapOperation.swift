@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyMmap
import ZiggySupport

// (c) MmapAllocator with every page size × fallback policy × alignment × population, small
// sizes: what it hands out is what it says, and whatever it does not hand out leaves nothing
// mapped, counted or reserved.

enum MmapOperation {
    /// Bytes a lazy mapping may span; populated (or locked) ones are kept smaller.
    static let lazyCap = 8 << 20
    static let populatedCap = 2 << 20
    static let poolBytes = 16 << 20

    static func run(_ input: inout FuzzInput) {
        let pageSize = PageSize.allCases[Int(input.byte() % 4)]
        let fallbackByte = input.byte()
        let fallback: MmapAllocator.Fallback
        switch fallbackByte % 4 {
        case 0: fallback = .strict
        case 1: fallback = .anySmaller
        case 2:
            let list = input.byte()
            fallback = .fallback(to: (0..<Int(list & 3)).map { PageSize.allCases[Int(list >> (2 + 2 * $0)) & 3] })
        default: fallback = .fallback(to: [])
        }
        let selector = input.byte()
        let flags = input.byte()
        let count = input.int()
        let alignment: Int? = flags & 1 != 0 ? input.int() : nil
        let populate: PopulateMode
        switch (flags >> 2) & 3 {
        case 1: populate = .kernel
        case 2: populate = .parallel(threads: input.int())
        default: populate = .none
        }
        let options = MmapAllocator.Options(
            pageSize: pageSize, fallback: fallback, populate: populate,
            lock: flags & 128 != 0, reusePoolBytes: flags & 16 != 0 ? poolBytes : 0)
        withElementType(selector) { type in
            run(
                type, options, count: count, alignment: alignment, zeroed: flags & 2 != 0,
                debug: flags & 32 != 0, second: flags & 64 != 0)
        }
    }

    /// The sizes a request could map: whole pages of each size of the chain, and with the
    /// alignment slack reserved around them.
    static func sizes(_ valid: ValidRequest?, chain: [PageSize]) -> Set<Int> {
        guard let valid, valid.byteCount > 0, valid.byteCount < impossibleBytes else { return [] }
        var sizes: Set<Int> = []
        for size in chain {
            let page = size.byteCount
            let length = (valid.byteCount + page - 1) / page * page
            sizes.insert(length)
            let alignment = max(valid.alignment, size == .base ? PageSize.basePageByteCount : page)
            if alignment > (size.isHugeTLB ? page : PageSize.basePageByteCount) {
                sizes.insert(length + alignment - PageSize.basePageByteCount)
            }
        }
        return sizes
    }

    static func run<T: TrivialElement>(
        _ type: T.Type, _ options: MmapAllocator.Options, count rawCount: Int,
        alignment: Int?, zeroed: Bool, debug: Bool, second: Bool
    ) {
        let cap = options.populate == .none && !options.lock ? lazyCap : populatedCap
        let count = capped(T.self, count: rawCount, alignment: alignment, cap: cap, passAbove: impossibleBytes)
        let chain = options.fallback.chain(for: options.pageSize)
        Harness.operation =
            "MmapAllocator(pageSize: \(options.pageSize), fallback: \(options.fallback), populate: "
            + "\(options.populate), lock: \(options.lock), reusePoolBytes: \(options.reusePoolBytes))"
            + "\(debug ? " in a DebugMemoryAllocator" : "").allocate(\(T.self), count: \(count) (input \(rawCount)), "
            + "alignment: \(alignment.map(String.init) ?? "nil"), zeroed: \(zeroed))\(second ? " twice" : "")"

        let model = RequestModel.expect(T.self, count: count, alignment: alignment)
        var expect = Expectation(count: count, alignment: alignment, zeroed: zeroed, model: model)
        if case .success(let valid) = model, valid.byteCount > 0 {
            expect.mustFail = valid.byteCount >= impossibleBytes
            let badThreads: Bool
            if case .parallel(let threads) = options.populate, threads < 1 { badThreads = true } else { badThreads = false }
            if badThreads { expect.mustFail = true }
            let lastIsHugeTLB = chain.last!.isHugeTLB
            if expect.mustFail || lastIsHugeTLB {
                expect.judgeFailure = { error in
                    judge(error, valid, chain: chain, impossible: valid.byteCount >= impossibleBytes, badThreads: badThreads)
                }
            }
        }

        if case .parallel = options.populate { Harness.threadsStarted = true }
        Harness.mappingOperation(sizes: sizes(try? model.get(), chain: chain)) {
            run(T.self, options, expect, debug: debug, second: second)
        }
    }

    static func run<T: TrivialElement>(
        _ type: T.Type, _ options: MmapAllocator.Options, _ expect: Expectation,
        debug: Bool, second: Bool
    ) {
        let allocator = MmapAllocator(options)
        if debug {
            let wrapper = DebugMemoryAllocator("fuzz", wrapping: allocator, onLeak: .trap)
            exercise(wrapper, T.self, expect, options: options, mmap: allocator, second: second)
            Harness.require(wrapper.leakReport.leaks.isEmpty, "leaks after every buffer was freed: \(wrapper.leakReport)")
        } else {
            exercise(allocator, T.self, expect, options: options, mmap: allocator, second: second)
        }
        Harness.require(Invariants.statistics(of: allocator, equal: .zero, label: "MmapAllocator at the end"))
        let mapping = allocator.mmapStatistics
        Harness.require(
            mapping.mappedBytes == 0 && mapping.unmapFailures == 0,
            "mapping counters after every buffer was freed: \(mapping)")
        if options.reusePoolBytes == 0 {
            Harness.require(mapping.pooledBytes == 0, "pooled bytes without a pool: \(mapping)")
        }
        allocator.drainPool()
        Harness.require(
            allocator.mmapStatistics.pooledBytes == 0, "the pool holds bytes after drainPool: \(allocator.mmapStatistics)")
    }

    /// Whether a valid request may fail this way: only for lack of memory or huge pages, with the
    /// right page count; or, for a parallel population with fewer than one thread, as an invalid
    /// argument.
    static func judge(
        _ error: any Error, _ valid: ValidRequest, chain: [PageSize], impossible: Bool,
        badThreads: Bool
    ) -> String? {
        guard let error = error as? MmapError else { return "not an MmapError" }
        switch error {
        case .hugePagesUnavailable(let size, let needed, _):
            let pages = (valid.byteCount + size.byteCount - 1) / size.byteCount
            // A shortage falls back while the chain goes on: the error is the last size's.
            if size != chain.last! { return "a shortage of \(size) pages, not the last of the chain \(chain)" }
            if needed != pages { return "the error counts \(needed) pages of \(size); the request needs \(pages)" }
            // Read twice, with a margin: other processes use the pools too.
            if !impossible, !Harness.faulted, available(size) >= pages + 2, available(size) >= pages + 2 {
                return "\(pages) page(s) of \(size) needed, and more are free after the failure"
            }
            return nil
        case .unsupportedPageSize(let size, _):
            return chain.last == size ? nil : "unsupported \(size) is not the last page size of \(chain)"
        case .outOfMemory:
            return impossible ? nil : "out of memory for a small request"
        case .invalidArgument:
            return badThreads ? nil : "an invalid argument for valid options"
        default:
            return "an unexpected error"
        }
    }

    /// hugetlb pages of `size` a new private mapping could get now (free minus reserved).
    static func available(_ size: PageSize) -> Int {
        guard let pool = HugePageReservation.Pool.read(size) else { return 0 }
        return pool.available
    }

    static func exercise<A: UnmanagedMemoryAllocator & ~Copyable, T: TrivialElement>(
        _ allocator: borrowing A, _ type: T.Type, _ expect: Expectation, options: MmapAllocator.Options,
        mmap: MmapAllocator, second: Bool
    ) {
        let stats = { Optional(mmap.mmapStatistics) }
        var firstObtained: PageSize?
        var firstReserved = 0
        withAllocation(allocator, T.self, expect, extra: stats) { buffer, valid in
            guard valid.byteCount > 0 else { return }
            let (obtained, reserved) = check(buffer, valid, options, mmap: mmap, reusable: false)
            firstObtained = obtained
            firstReserved = reserved
            touch(&buffer, 0xA5)
            guard second else { return }
            let start = address(buffer)
            withAllocation(allocator, T.self, expect, extra: stats) { other, _ in
                let (_, otherReserved) = check(other, valid, options, mmap: mmap, reusable: false)
                let otherStart = address(other)
                Harness.require(
                    otherStart >= start + UInt(reserved) || otherStart + UInt(otherReserved) <= start,
                    "two live mappings overlap: 0x\(String(start, radix: 16)) (\(reserved) B) and "
                        + "0x\(String(otherStart, radix: 16)) (\(otherReserved) B)")
                touch(&other, 0x5A)
            }
        }
        guard options.reusePoolBytes > 0, let firstObtained else { return }
        // The freed mapping is pooled; the same request again must reuse it when it lands on the
        // same page size, and read as zero when asked.
        let pooled = mmap.mmapStatistics.pooledBytes
        Harness.require(
            pooled <= options.reusePoolBytes && (firstReserved > options.reusePoolBytes || pooled >= firstReserved),
            "after freeing \(firstReserved) B into a \(options.reusePoolBytes) B pool it holds \(pooled) B")
        let hitsBefore = mmap.mmapStatistics.poolHits
        withAllocation(allocator, T.self, expect, extra: stats) { buffer, valid in
            let (obtained, _) = check(buffer, valid, options, mmap: mmap, reusable: true)
            if obtained == firstObtained && firstReserved <= options.reusePoolBytes {
                Harness.require(
                    buffer.backing.mapping?.isReused == true && mmap.mmapStatistics.poolHits == hitsBefore + 1,
                    "a pooled \(obtained) mapping fitting the request was not reused: \(buffer.backing)")
            }
            touch(&buffer, 0x3C)
        }
    }

    /// Checks a mapped buffer's report against the request; returns the page size and bytes mapped.
    static func check<T>(
        _ buffer: borrowing UnmanagedBuffer<T>, _ valid: ValidRequest, _ options: MmapAllocator.Options,
        mmap: MmapAllocator, reusable: Bool
    ) -> (PageSize, Int) {
        let backing = buffer.backing
        guard let details = backing.mapping else { Harness.violation("a mapped buffer without mapping details: \(backing)") }
        let chain = options.fallback.chain(for: options.pageSize)
        let obtained = details.obtainedPageSize
        Harness.require(backing.backend == .mmap, "backend \(backing.backend), expected mmap")
        Harness.require(
            details.requestedPageSize == options.pageSize, "reports \(String(describing: details.requestedPageSize)) as requested")
        Harness.require(chain.contains(obtained), "obtained \(obtained), not in the chain \(chain)")
        Harness.require(
            (obtained == options.pageSize) == (details.fallbackReason == nil),
            "obtained \(obtained) for \(options.pageSize) with fallback reason \(details.fallbackReason ?? "nil")")
        if obtained != options.pageSize && options.pageSize.isHugeTLB && !Harness.faulted {
            let pages = (valid.byteCount + options.pageSize.byteCount - 1) / options.pageSize.byteCount
            // Fell back although the pool had the pages before and still has them after (other
            // processes use pools too: a fuzz run once failed while a test suite reserved pages).
            let before = Harness.hugePagesAvailableBefore[options.pageSize.byteCount] ?? 0
            if before >= pages + 2, available(options.pageSize) >= pages + 2 {
                Harness.violation(
                    "fell back from \(options.pageSize) to \(obtained) with \(pages) page(s) needed and "
                        + "more free: \(details.fallbackReason ?? "")")
            }
        }
        let page = obtained.byteCount
        let length = (valid.byteCount + page - 1) / page * page
        if details.isReused {
            Harness.require(reusable && options.reusePoolBytes > 0, "reused without a pool: \(backing)")
            Harness.require(
                backing.reservedByteCount >= length && backing.reservedByteCount <= 2 * length,
                "a reused mapping of \(backing.reservedByteCount) B for \(length) B")
        } else {
            Harness.require(
                backing.reservedByteCount == length,
                "maps \(backing.reservedByteCount) B for \(valid.byteCount) B of \(obtained) pages (expected \(length))")
        }
        let alignment = max(valid.alignment, obtained == .base ? PageSize.basePageByteCount : page)
        let base = address(buffer)
        Harness.require(base % UInt(alignment) == 0, "0x\(String(base, radix: 16)) is not aligned to \(alignment) (\(obtained))")
        Harness.require(backing.alignment >= alignment, "reports alignment \(backing.alignment), expected at least \(alignment)")
        switch (options.populate, details.populate) {
        case (.none, .none), (.kernel, .kernel): break
        case (.parallel(let asked), .parallel(let ran)) where ran >= 1 && ran <= asked: break
        default: Harness.violation("asked to populate \(options.populate), reports \(details.populate)")
        }
        Harness.require(details.isLocked == options.lock, "lock \(options.lock), reports \(details.isLocked)")
        Harness.require(details.numaPolicy == nil, "a NUMA policy on a plain mapping: \(backing)")
        return (obtained, backing.reservedByteCount)
    }
}
