import Glibc
import Testing
import ZiggyAlloc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

// Property-based tests over counts, element layouts, alignments and the bulk operations
// (fill, copy, span ranges), for every allocator in ZiggyAlloc.
//
// A seeded generator loop rather than a property-testing library: the cases are deterministic
// (one fixed seed, so CI repeats itself), `ZIGGY_PROPERTY_SEED=<n or 0xhex>` explores other
// seeds, and every expectation's message names the property, the case, its inputs and the seed.
// Each property runs for all three allocators × eight element types (Swift Testing arguments),
// over hand-picked edge counts plus random ones.

// MARK: - Element types of different sizes, strides and alignments

protocol PropertyElement: BitwiseCopyable, Equatable {
    /// A value derived from `bits` (never NaN, so `==` is reflexive).
    static func make(_ bits: UInt64) -> Self
}

extension UInt8: PropertyElement {
    static func make(_ bits: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: bits) }
}

extension UInt16: PropertyElement {
    static func make(_ bits: UInt64) -> UInt16 { UInt16(truncatingIfNeeded: bits) }
}

extension Double: PropertyElement {
    static func make(_ bits: UInt64) -> Double { Double(Int32(truncatingIfNeeded: bits)) + 0.25 }
}

extension SIMD4: PropertyElement where Scalar == Float {
    static func make(_ bits: UInt64) -> SIMD4<Float> {
        SIMD4(
            Float(Int16(truncatingIfNeeded: bits)), Float(Int16(truncatingIfNeeded: bits >> 16)),
            Float(Int16(truncatingIfNeeded: bits >> 32)), Float(Int16(truncatingIfNeeded: bits >> 48)))
    }
}

/// 3 bytes, stride 3, alignment 1: a stride that divides no page.
struct Bytes3: PropertyElement {
    var a, b, c: UInt8
    static func make(_ bits: UInt64) -> Bytes3 {
        Bytes3(
            a: UInt8(truncatingIfNeeded: bits), b: UInt8(truncatingIfNeeded: bits >> 8), c: UInt8(truncatingIfNeeded: bits >> 16))
    }
}

/// 24 bytes, alignment 8.
struct Doubles3: PropertyElement {
    var x, y, z: Double
    static func make(_ bits: UInt64) -> Doubles3 {
        Doubles3(x: .make(bits), y: .make(bits >> 11), z: .make(bits >> 23))
    }
}

/// Size 5 but stride 8 (3 bytes of tail padding), alignment 4.
struct Padded5: PropertyElement {
    var word: UInt32
    var byte: UInt8
    static func make(_ bits: UInt64) -> Padded5 {
        Padded5(word: UInt32(truncatingIfNeeded: bits), byte: UInt8(truncatingIfNeeded: bits >> 32))
    }
}

/// 64 bytes with 16-byte alignment.
struct Wide64: PropertyElement {
    var a, b, c, d: SIMD4<Float>
    static func make(_ bits: UInt64) -> Wide64 {
        Wide64(a: .make(bits), b: .make(bits &* 3), c: .make(bits &* 5), d: .make(bits &* 7))
    }
}

enum ElementKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case uint8 = "UInt8"
    case uint16 = "UInt16"
    case bytes3 = "Bytes3 (3 B)"
    case double = "Double"
    case doubles3 = "Doubles3 (24 B)"
    case simd4 = "SIMD4<Float>"
    case padded5 = "Padded5 (5 B, stride 8)"
    case wide64 = "Wide64 (64 B, align 16)"

    var type: any PropertyElement.Type {
        switch self {
        case .uint8: UInt8.self
        case .uint16: UInt16.self
        case .bytes3: Bytes3.self
        case .double: Double.self
        case .doubles3: Doubles3.self
        case .simd4: SIMD4<Float>.self
        case .padded5: Padded5.self
        case .wide64: Wide64.self
        }
    }

    var testDescription: String { rawValue }
}

enum AllocatorKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case system = "SystemMemoryAllocator"
    case scoped = "ScopedAllocator"
    case debug = "DebugMemoryAllocator<System>"
    var testDescription: String { rawValue }
}

// MARK: - The harness

/// The seed of every property: fixed unless `ZIGGY_PROPERTY_SEED` (decimal or 0x-hex) is set.
enum PropertySeed {
    static let fixed: UInt64 = 0x2A_5EED_0001
    static let base: UInt64 = {
        guard let raw = getenv("ZIGGY_PROPERTY_SEED") else { return fixed }
        let text = String(cString: raw)
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt64(text.dropFirst(2), radix: 16) ?? fixed }
        return UInt64(text) ?? fixed
    }()
}

/// One property's run against one allocator and element type: the generator, the current case
/// (for messages) and a model of the allocator's counters.
final class PropertyRun {
    let property: String
    let allocator: AllocatorKind
    let element: ElementKind
    var random: SplitMix64
    private(set) var caseNumber = 0
    private(set) var currentCase = ""

    // The counters the allocator should report. Empty buffers are no allocation in any allocator.
    private(set) var liveBytes = 0, liveAllocations = 0, peakBytes = 0
    private(set) var cumulativeBytes = 0, nonEmptyAllocations = 0

    init(_ property: String, _ allocator: AllocatorKind, _ element: ElementKind) {
        self.property = property
        self.allocator = allocator
        self.element = element
        // FNV-1a over the names: stable across processes (unlike Hasher).
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in "\(property)|\(allocator.rawValue)|\(element.rawValue)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        random = SplitMix64(seed: PropertySeed.base ^ hash)
    }

    func begin(_ description: String) {
        caseNumber += 1
        currentCase = description
    }

    /// What every failure message says: enough to rerun exactly this case.
    var context: String {
        "\(property) case #\(caseNumber) [\(currentCase)] with \(element.rawValue) on \(allocator.rawValue); "
            + "seed 0x\(String(PropertySeed.base, radix: 16)) (rerun with ZIGGY_PROPERTY_SEED=0x\(String(PropertySeed.base, radix: 16)))"
    }

    func allocated(_ bytes: Int) {
        guard bytes > 0 else { return }
        nonEmptyAllocations += 1
        liveBytes += bytes
        liveAllocations += 1
        cumulativeBytes += bytes
        peakBytes = max(peakBytes, liveBytes)
    }

    func freed(_ bytes: Int) {
        guard bytes > 0 else { return }
        liveBytes -= bytes
        liveAllocations -= 1
    }

    func expectLive(_ stats: AllocationStatistics, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            stats.liveBytes == liveBytes && stats.liveAllocations == liveAllocations,
            "live counters \(stats) — expected \(liveAllocations) buffers, \(liveBytes) B — \(context)",
            sourceLocation: sourceLocation)
    }

    /// After every buffer is freed: nothing live, and totals and peak exactly as made (one thread
    /// used the allocator, so the peak is exact too).
    func expectFinal(_ stats: AllocationStatistics, sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = AllocationStatistics(
            liveBytes: 0, liveAllocations: 0, peakBytes: peakBytes, cumulativeBytes: cumulativeBytes,
            totalAllocations: nonEmptyAllocations)
        #expect(
            liveBytes == 0 && liveAllocations == 0, "the test itself left buffers alive — \(context)",
            sourceLocation: sourceLocation)
        #expect(stats == expected, "final counters of \(allocator.rawValue) for \(property)", sourceLocation: sourceLocation)
    }

    // Generators.

    func below(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }
    func chance(_ percent: Int) -> Bool { below(100) < percent }

    /// 0 … maxBytes worth of elements, log-uniform so small counts dominate.
    func randomCount(stride: Int, maxBytes: Int) -> Int {
        let maxCount = max(1, maxBytes / stride)
        let bits = below(Int.bitWidth - maxCount.leadingZeroBitCount + 1)
        return bits == 0 ? 0 : min(maxCount, (1 << (bits - 1)) + below(1 << (bits - 1)))
    }

    /// nil (the element's own alignment, through the unaligned `allocate`) or a valid power of two
    /// from the element's alignment to 4096, now and then 64 KiB or 2 MiB.
    func randomAlignment<T>(_ type: T.Type) -> Int? {
        if chance(30) { return nil }
        if chance(5) { return [64 << 10, 2 << 20].randomElement(using: &random)! }
        let low = MemoryLayout<T>.alignment.trailingZeroBitCount
        return 1 << (low + below(12 - low + 1))
    }

    /// Indices to check one by one: all of them up to 64 Ki elements, else 6 Ki spread over the
    /// ends and random places (the byte-level checks cover the rest).
    func sampleIndices(_ count: Int) -> [Int] {
        if count <= 1 << 16 { return Array(0..<count) }
        return Array(0..<2048) + Array((count - 2048)..<count) + (0..<2048).map { _ in below(count) }
    }
}

/// A property over one allocator and one element type.
protocol AllocatorProperty {
    static var name: String { get }
    static func check<A: UnmanagedMemoryAllocator & ~Copyable, T: PropertyElement>(
        _ allocator: borrowing A, _ type: T.Type, _ run: PropertyRun) where A.Failure == AllocationError
}

/// Runs `property` on a fresh allocator of `allocatorKind` with elements of `elementKind`, then
/// checks the allocator's counters (and, for the Debug allocator, its leak report and base).
func runProperty<P: AllocatorProperty>(_ property: P.Type, _ allocatorKind: AllocatorKind, _ elementKind: ElementKind) {
    func run<T: PropertyElement>(_ type: T.Type) {
        let run = PropertyRun(P.name, allocatorKind, elementKind)
        switch allocatorKind {
        case .system:
            let allocator = SystemMemoryAllocator()
            P.check(allocator, T.self, run)
            run.expectFinal(allocator.statistics)
        case .scoped:
            ScopedAllocator.withScope { arena in
                P.check(arena, T.self, run)
                run.expectFinal(arena.statistics)
            }
        case .debug:
            let base = SystemMemoryAllocator()
            let debug = DebugMemoryAllocator("Properties", wrapping: base)
            P.check(debug, T.self, run)
            run.expectFinal(debug.statistics)
            let report = debug.leakReport
            #expect(report.leaks.isEmpty, "\(report) — \(run.context)")
            let baseStats = base.statistics
            #expect(
                baseStats.liveBytes == 0 && baseStats.liveAllocations == 0
                    && baseStats.totalAllocations == run.nonEmptyAllocations
                    && baseStats.cumulativeBytes == run.cumulativeBytes,
                "the wrapped allocator's counters \(baseStats) — \(run.context)")
        }
    }
    run(elementKind.type)
}

/// Counts at the edges for `stride`: 0, 1, 2, page size ± 1 byte's worth, 2 MiB ± 1 byte's worth.
func edgeCounts(stride: Int) -> [Int] {
    var counts = [0, 1, 2]
    for bytes in [4096, 2 << 20] {
        counts += [(bytes - 1) / stride, bytes / stride, (bytes + 1 + stride - 1) / stride, bytes / stride + 1]
    }
    var seen = Set<Int>()
    return counts.filter { $0 >= 0 && seen.insert($0).inserted }
}

/// Whether all `byteCount` bytes at `base` are zero.
func allBytesZero(_ base: UnsafeRawPointer, _ byteCount: Int) -> Bool {
    let zeros = [UInt8](repeating: 0, count: 4096)
    return zeros.withUnsafeBytes { zero in
        var offset = 0
        while offset < byteCount {
            let length = min(4096, byteCount - offset)
            if memcmp(base + offset, zero.baseAddress!, length) != 0 { return false }
            offset += length
        }
        return true
    }
}

/// A copy of some bytes, to check later that they did not change.
final class ByteSnapshot {
    let bytes: UnsafeMutableRawPointer
    let byteCount: Int
    init(_ base: UnsafeRawPointer, _ byteCount: Int) {
        self.byteCount = byteCount
        bytes = .allocate(byteCount: max(byteCount, 1), alignment: 64)
        memcpy(bytes, base, byteCount)
    }
    deinit { bytes.deallocate() }
    /// Whether `[from, to)` of `base` still equals the snapshot.
    func matches(_ base: UnsafeRawPointer, from: Int = 0, to: Int? = nil) -> Bool {
        let end = to ?? byteCount
        return end <= from || memcmp(base + from, bytes + from, end - from) == 0
    }
}

/// Writes `tile[i % tile.count]` to every element with memcpy (fast for any count in a debug
/// build); element i then reads as `tile[i % tile.count]`.
func tileFill<T>(_ buffer: inout UnmanagedBuffer<T>, with tile: [T]) {
    let base = UnsafeMutableRawPointer(buffer.unsafeBaseAddress)
    let count = buffer.count
    tile.withUnsafeBytes { source in
        var index = 0
        while index < count {
            let n = min(tile.count, count - index)
            memcpy(base + index * MemoryLayout<T>.stride, source.baseAddress!, n * MemoryLayout<T>.stride)
            index += n
        }
    }
}

func makeTile<T: PropertyElement>(_ type: T.Type, _ run: PropertyRun, count: Int = 4096) -> [T] {
    let salt = run.random.next()
    return (0..<count).map { T.make(salt &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15) }
}

/// Allocates with or without an explicit alignment.
func allocate<A: UnmanagedMemoryAllocator & ~Copyable, T: BitwiseCopyable>(
    _ allocator: borrowing A, _ type: T.Type, count: Int, alignment: Int?, zeroed: Bool = false
) throws(AllocationError) -> UnmanagedBuffer<T> where A.Failure == AllocationError {
    if let alignment { return try allocator.allocate(T.self, count: count, alignment: alignment, zeroed: zeroed) }
    return try allocator.allocate(T.self, count: count, zeroed: zeroed)
}

/// The model of request validation: what allocating `count` elements of `T` aligned to
/// `alignment` must do before any memory is touched.
enum ExpectedOutcome: CustomStringConvertible {
    case success
    case error(AllocationError)
    /// Valid but beyond any memory: `.outOfMemory` for this many bytes, whatever the backend names.
    case outOfMemory(byteCount: Int)

    init<T>(_ type: T.Type, count: Int, alignment: Int?) {
        let name = String(describing: T.self)
        let stride = MemoryLayout<T>.stride
        let natural = MemoryLayout<T>.alignment
        let maximum = 1 << 30
        let limit = AllocationRequest.addressSpaceLimit
        let (bytes, overflow) = count.multipliedReportingOverflow(by: stride)
        let align = alignment ?? natural
        if count < 0 {
            self = .error(.negativeCount(count, element: name))
        } else if overflow {
            self = .error(.sizeOverflow(count: count, stride: stride, element: name))
        } else if bytes > limit {
            self = .error(.exceedsAddressSpace(byteCount: bytes, limit: limit))
        } else if align < natural || align > maximum || align & (align &- 1) != 0 {
            self = .error(.invalidAlignment(align, minimum: natural, maximum: maximum, element: name))
        } else if bytes >= 1 << 46 {
            self = .outOfMemory(byteCount: bytes)
        } else {
            self = .success
        }
    }

    var description: String {
        switch self {
        case .success: "success"
        case .error(let error): "\(error)"
        case .outOfMemory(let bytes): "outOfMemory(\(bytes) B)"
        }
    }
}

// MARK: - Properties

/// Allocation succeeds or throws exactly the typed error the request calls for; a success has
/// the count, byte count and alignment asked for, reads zero when zeroed, and is writable at both
/// ends; a failure changes no counter; frees bring the live counters back.
enum AllocationOutcomes: AllocatorProperty {
    static let name = "allocation outcomes"

    static func check<A: UnmanagedMemoryAllocator & ~Copyable, T: PropertyElement>(
        _ allocator: borrowing A, _ type: T.Type, _ run: PropertyRun
    ) where A.Failure == AllocationError {
        let stride = MemoryLayout<T>.stride
        let limit = AllocationRequest.addressSpaceLimit
        var counts = edgeCounts(stride: stride)
        // Invalid: negative, past the address space, overflowing; and valid but beyond memory.
        counts += [-1, -2, -4097, Int.min, -(1 + run.below(Int.max))]
        counts += [Int.max / stride, Int.max, limit / stride + 1, limit / stride]
        if stride > 1 { counts.append(Int.max / stride + 1) }  // (Int.max / 1 + 1 does not exist)
        for _ in 0..<120 { counts.append(run.randomCount(stride: stride, maxBytes: 4 << 20)) }

        for count in counts {
            let alignment = run.randomAlignment(T.self)
            let zeroed = run.chance(50)
            let expected = ExpectedOutcome(T.self, count: count, alignment: alignment)
            run.begin("count \(count), alignment \(alignment.map { "\($0)" } ?? "natural"), zeroed \(zeroed), expect \(expected)")
            let before = allocator.statistics
            do {
                var buffer = try allocate(allocator, T.self, count: count, alignment: alignment, zeroed: zeroed)
                let byteCount = buffer.byteCount
                run.allocated(byteCount)
                if case .success = expected {
                } else {
                    Issue.record("allocation succeeded — \(run.context)")
                }
                checkShape(&buffer, count: count, alignment: alignment ?? MemoryLayout<T>.alignment, zeroed: zeroed, run)
                run.expectLive(allocator.statistics)
                buffer.free()
                run.freed(byteCount)
                run.expectLive(allocator.statistics)
            } catch {
                switch expected {
                case .success:
                    Issue.record("allocation threw \(error) — \(run.context)")
                case .error(let expectedError):
                    #expect(error == expectedError, "\(run.context)")
                case .outOfMemory(let bytes):
                    if case .outOfMemory(let thrownBytes, _, let code) = error {
                        #expect(thrownBytes == bytes && code == .noMemory, "\(error) — \(run.context)")
                    } else {
                        Issue.record("threw \(error) instead of outOfMemory — \(run.context)")
                    }
                }
                let after = allocator.statistics
                #expect(after == before, "a failed allocation changed the counters — \(run.context)")
            }
        }
    }

    static func checkShape<T: PropertyElement>(
        _ buffer: inout UnmanagedBuffer<T>, count: Int, alignment: Int, zeroed: Bool, _ run: PropertyRun
    ) {
        let stride = MemoryLayout<T>.stride
        let (actualCount, byteCount, isEmpty, indices) = (buffer.count, buffer.byteCount, buffer.isEmpty, buffer.indices)
        #expect(
            actualCount == count && byteCount == count * stride && isEmpty == (count == 0) && indices == 0..<count,
            "count \(actualCount), byteCount \(byteCount) — \(run.context)")
        let address = Int(bitPattern: buffer.unsafeBaseAddress)
        #expect(
            address % alignment == 0 && address % MemoryLayout<T>.alignment == 0,
            "base 0x\(String(address, radix: 16)) not aligned to \(alignment) — \(run.context)")
        let owning = buffer.backing.isOwning
        #expect(owning == (byteCount > 0), "isOwning \(owning) — \(run.context)")
        guard byteCount > 0 else { return }
        let backing = buffer.backing
        let backend: BufferBacking.Backend = run.allocator == .scoped ? .scoped : .system
        #expect(
            backing.backend == backend && backing.isDebugTracked == (run.allocator == .debug)
                && backing.alignment >= alignment && backing.reservedByteCount >= byteCount,
            "backing \(backing) — \(run.context)")
        if zeroed {
            #expect(allBytesZero(buffer.unsafeBaseAddress, byteCount), "a zeroed buffer has a non-zero byte — \(run.context)")
        }
        let first = T.make(run.random.next())
        let last = T.make(run.random.next())
        buffer[count - 1] = last
        buffer[0] = first
        let (readFirst, readLast) = (buffer[0], buffer[count - 1])
        #expect(readFirst == first && (count == 1 || readLast == last), "first/last element did not read back — \(run.context)")
    }
}

/// Alignments that are not powers of two, below the element's, zero, negative or above 1 GiB
/// throw `.invalidAlignment` naming them; the element's own alignment and 1 GiB work.
enum AlignmentOutcomes: AllocatorProperty {
    static let name = "alignment outcomes"

    static func check<A: UnmanagedMemoryAllocator & ~Copyable, T: PropertyElement>(
        _ allocator: borrowing A, _ type: T.Type, _ run: PropertyRun
    ) where A.Failure == AllocationError {
        let natural = MemoryLayout<T>.alignment
        var alignments = [
            0, -1, -natural, -4096, 3, 6, 12, 24, 48, 1000, 4095, 4097, (1 << 30) + 1, 1 << 31, 1 << 40,
            Int.max, Int.min, natural, 1 << 30, 4096,
        ]
        if natural > 1 { alignments += [natural / 2, 1] }
        for _ in 0..<40 {
            let candidate = 1 + run.below(1 << 20)
            alignments.append(run.chance(50) ? candidate : 1 << run.below(31))
        }
        for alignment in alignments {
            let count = [0, 1, 7, 4096 / MemoryLayout<T>.stride + 1][run.below(4)]
            let expected = ExpectedOutcome(T.self, count: count, alignment: alignment)
            run.begin("count \(count), alignment \(alignment), expect \(expected)")
            let before = allocator.statistics
            do {
                let buffer = try allocator.allocate(T.self, count: count, alignment: alignment)
                let (address, byteCount) = (Int(bitPattern: buffer.unsafeBaseAddress), buffer.byteCount)
                run.allocated(byteCount)
                if case .success = expected {} else { Issue.record("allocation succeeded — \(run.context)") }
                #expect(address % alignment == 0, "base 0x\(String(address, radix: 16)) — \(run.context)")
                buffer.free()
                run.freed(byteCount)
            } catch {
                if case .error(let expectedError) = expected {
                    #expect(error == expectedError, "\(run.context)")
                } else {
                    Issue.record("threw \(error) — \(run.context)")
                }
                let after = allocator.statistics
                #expect(after == before, "a failed allocation changed the counters — \(run.context)")
            }
            run.expectLive(allocator.statistics)
        }
    }
}

/// `fill(with:)` sets every element; elements written through `mutableSpan` and the subscript read
/// back through the subscript, `span`, `toArray()`; `clear()` zeroes every byte.
enum FillReadBack: AllocatorProperty {
    static let name = "fill and read back"

    static func check<A: UnmanagedMemoryAllocator & ~Copyable, T: PropertyElement>(
        _ allocator: borrowing A, _ type: T.Type, _ run: PropertyRun
    ) where A.Failure == AllocationError {
        let stride = MemoryLayout<T>.stride
        var counts = edgeCounts(stride: stride)
        for _ in 0..<40 { counts.append(run.randomCount(stride: stride, maxBytes: 256 << 10)) }
        for count in counts {
            let alignment = run.randomAlignment(T.self)
            run.begin("count \(count), alignment \(alignment.map { "\($0)" } ?? "natural")")
            guard var buffer = try? allocate(allocator, T.self, count: count, alignment: alignment) else {
                Issue.record("allocation failed — \(run.context)")
                continue
            }
            let byteCount = buffer.byteCount
            run.allocated(byteCount)
            let samples = run.sampleIndices(count)

            // fill(with:): every sampled element, and byte-for-byte periodic when there is no padding.
            let value = T.make(run.random.next())
            buffer.fill(with: value)
            var wrong = samples.first { buffer[$0] != value }
            #expect(wrong == nil, "fill(with:): element \(wrong ?? -1) differs — \(run.context)")
            if MemoryLayout<T>.size == stride && count > 1 {
                let base = UnsafeRawPointer(buffer.unsafeBaseAddress)
                #expect(
                    memcmp(base, base + stride, byteCount - stride) == 0,
                    "fill(with:): the elements' bytes are not all equal — \(run.context)")
            }

            // Per-index values through mutableSpan (or the subscript), read three ways.
            let salt = run.random.next()
            func expected(_ index: Int) -> T { T.make(salt &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15) }
            if count <= 1 << 16 {
                var span = buffer.mutableSpan
                #expect(span.count == count, "mutableSpan.count \(span.count) — \(run.context)")
                for i in span.indices { span[i] = expected(i) }
            } else {
                for i in samples { buffer[i] = expected(i) }
            }
            wrong = samples.first { buffer[$0] != expected($0) }
            #expect(wrong == nil, "subscript: element \(wrong ?? -1) differs — \(run.context)")
            do {
                let span = buffer.span
                #expect(span.count == count, "span.count \(span.count) — \(run.context)")
                wrong = samples.first { span[$0] != expected($0) }
                #expect(wrong == nil, "span: element \(wrong ?? -1) differs — \(run.context)")
            }
            if count <= 1 << 16 {
                let array = buffer.toArray()
                #expect(
                    array.count == count && array.indices.allSatisfy { array[$0] == expected($0) },
                    "toArray() differs — \(run.context)")
            }

            buffer.clear()
            #expect(allBytesZero(buffer.unsafeBaseAddress, byteCount), "clear() left a non-zero byte — \(run.context)")
            buffer.free()
            run.freed(byteCount)
            run.expectLive(allocator.statistics)
        }
    }
}

/// `copy(from:)` a buffer, a span or an array of the same count copies every byte; a different
/// count throws `.countMismatch(destination:source:)` and leaves the destination as it was;
/// copies between overlapping ranges act like memmove.
enum CopyRoundTrip: AllocatorProperty {
    static let name = "copy round trip"

    static func check<A: UnmanagedMemoryAllocator & ~Copyable, T: PropertyElement>(
        _ allocator: borrowing A, _ type: T.Type, _ run: PropertyRun
    ) where A.Failure == AllocationError {
        let stride = MemoryLayout<T>.stride
        let tile = makeTile(T.self, run)
        var counts = edgeCounts(stride: stride)
        for _ in 0..<40 { counts.append(run.randomCount(stride: stride, maxBytes: 256 << 10)) }
        for count in counts {
            run.begin("count \(count)")
            guard var source = try? allocate(allocator, T.self, count: count, alignment: run.randomAlignment(T.self)),
                var destination = try? allocate(allocator, T.self, count: count, alignment: run.randomAlignment(T.self))
            else {
                Issue.record("allocation failed — \(run.context)")
                continue
            }
            let byteCount = source.byteCount
            run.allocated(byteCount)
            run.allocated(byteCount)
            tileFill(&source, with: tile)
            let sourceBytes = UnsafeRawPointer(source.unsafeBaseAddress)

            // Equal counts: buffer, span and array sources copy every byte.
            do throws(AllocationError) {
                destination.clear()
                try destination.copy(from: source.span)
                #expect(memcmp(destination.unsafeBaseAddress, sourceBytes, byteCount) == 0, "copy(from: buffer) — \(run.context)")
                destination.clear()
                try destination.copy(from: source.span)
                #expect(memcmp(destination.unsafeBaseAddress, sourceBytes, byteCount) == 0, "copy(from: span) — \(run.context)")
                if count <= 1 << 16 {
                    let array = (0..<count).map { tile[$0 % tile.count] }
                    destination.clear()
                    try destination.copy(from: array.span)
                    let same = array.withUnsafeBytes { memcmp(destination.unsafeBaseAddress, $0.baseAddress!, byteCount) == 0 }
                    #expect(byteCount == 0 || same, "copy(from: array) — \(run.context)")
                }
            } catch {
                Issue.record("copy with equal counts threw \(error) — \(run.context)")
            }

            // Different counts: the typed error, and the destination unchanged.
            var others = [count + 1, count + 1 + run.below(100)]
            if count > 0 { others += [count - 1, 0, run.below(count)] }
            for other in others where other != count {
                guard let mismatched = try? allocator.allocate(T.self, count: other) else {
                    Issue.record("allocation failed — \(run.context)")
                    continue
                }
                run.allocated(mismatched.byteCount)
                let mismatchedBytes = mismatched.byteCount
                let snapshot = ByteSnapshot(destination.unsafeBaseAddress, byteCount)
                let expected = AllocationError.countMismatch(destination: count, source: other)
                var errors = [copyError(&destination, from: mismatched), copyError(&destination, fromSpanOf: mismatched)]
                if other <= 1 << 16 {
                    let array = [T](repeating: T.make(7), count: other)
                    do throws(AllocationError) { try destination.copy(from: array.span); errors.append(nil) } catch {
                        errors.append(error)
                    }
                }
                #expect(errors.allSatisfy { $0 == expected }, "copying \(other) elements: \(errors) — \(run.context)")
                #expect(snapshot.matches(destination.unsafeBaseAddress), "a failed copy changed the destination — \(run.context)")
                mismatched.free()
                run.freed(mismatchedBytes)
            }
            source.free()
            destination.free()
            run.freed(byteCount)
            run.freed(byteCount)
            run.expectLive(allocator.statistics)

            // Overlapping ranges of one allocation, both directions (through non-owning views).
            guard count > 0, count <= 1 << 16 else { continue }
            let shift = 1 + run.below(min(count, 64))
            guard var whole = try? allocator.allocate(T.self, count: count + shift) else {
                Issue.record("allocation failed — \(run.context)")
                continue
            }
            run.allocated(whole.byteCount)
            let wholeBytes = whole.byteCount
            for forward in [true, false] {
                tileFill(&whole, with: tile)
                let base = whole.unsafeBaseAddress
                let (to, from) = forward ? (shift, 0) : (0, shift)
                let original = ByteSnapshot(base + from, byteCount)
                var target = UnmanagedBuffer(unsafeWrapping: UnsafeMutableBufferPointer(start: base + to, count: count))
                let origin = UnmanagedBuffer(unsafeWrapping: UnsafeMutableBufferPointer(start: base + from, count: count))
                do throws(AllocationError) {
                    try target.copy(from: origin.span)
                } catch {
                    Issue.record("overlapping copy threw \(error) — \(run.context)")
                }
                #expect(original.matches(base + to), "overlapping copy (shift \(shift), forward \(forward)) — \(run.context)")
                let owning = target.backing.isOwning || origin.backing.isOwning
                #expect(!owning, "wrapped views must not own memory — \(run.context)")
            }
            whole.free()
            run.freed(wholeBytes)
        }
    }

    static func copyError<T>(_ destination: inout UnmanagedBuffer<T>, from source: borrowing UnmanagedBuffer<T>) -> AllocationError?
    {
        do throws(AllocationError) { try destination.copy(from: source.span) } catch { return error }
        return nil
    }

    static func copyError<T>(
        _ destination: inout UnmanagedBuffer<T>, fromSpanOf source: borrowing UnmanagedBuffer<T>
    ) -> AllocationError? {
        do throws(AllocationError) { try destination.copy(from: source.span) } catch { return error }
        return nil
    }
}

/// `span(range)` and `mutableSpan(range)` view exactly the elements of the range: same count,
/// first element at `baseAddress + lowerBound`, the same values; writes through a range span
/// change that range and no byte outside it.
enum SpanRanges: AllocatorProperty {
    static let name = "span ranges"

    static func check<A: UnmanagedMemoryAllocator & ~Copyable, T: PropertyElement>(
        _ allocator: borrowing A, _ type: T.Type, _ run: PropertyRun
    ) where A.Failure == AllocationError {
        let stride = MemoryLayout<T>.stride
        let tile = makeTile(T.self, run, count: 4093)  // a prime: tile and index patterns never align
        var counts = edgeCounts(stride: stride)
        for _ in 0..<30 { counts.append(run.randomCount(stride: stride, maxBytes: 256 << 10)) }
        for count in counts {
            run.begin("count \(count)")
            guard var buffer = try? allocate(allocator, T.self, count: count, alignment: run.randomAlignment(T.self)) else {
                Issue.record("allocation failed — \(run.context)")
                continue
            }
            let byteCount = buffer.byteCount
            run.allocated(byteCount)
            tileFill(&buffer, with: tile)
            let base = buffer.unsafeBaseAddress

            var ranges: [Range<Int>] = [0..<0, 0..<count, count..<count]
            if count > 0 { ranges += [0..<1, (count - 1)..<count, (count / 2)..<count] }
            for _ in 0..<12 {
                let lower = run.below(count + 1)
                let length = run.below(min(count - lower, 4096) + 1)
                ranges.append(lower..<(lower + length))
            }
            for range in ranges {
                run.begin("count \(count), range \(range)")
                // Read-only view.
                do {
                    let span = buffer.span(range)
                    let start = span.withUnsafeBufferPointer { elements -> UnsafeRawPointer? in
                        guard let first = elements.baseAddress else { return nil }
                        return UnsafeRawPointer(first)
                    }
                    #expect(span.count == range.count, "span(\(range)).count \(span.count) — \(run.context)")
                    #expect(
                        range.isEmpty || start == UnsafeRawPointer(base + range.lowerBound),
                        "span(\(range)) starts at \(String(describing: start)), not base + \(range.lowerBound) — \(run.context)")
                    let checked = range.count <= 1 << 16 ? Array(0..<range.count) : run.sampleIndices(range.count)
                    let wrong = checked.first { span[$0] != tile[(range.lowerBound + $0) % tile.count] }
                    #expect(wrong == nil, "span(\(range))[\(wrong ?? -1)] differs — \(run.context)")
                }
                // Writes through a mutable range view stay inside the range.
                guard range.count <= 4096 else { continue }
                let snapshot = ByteSnapshot(base, byteCount)
                let salt = run.random.next()
                do {
                    var span = buffer.mutableSpan(range)
                    #expect(span.count == range.count, "mutableSpan(\(range)).count \(span.count) — \(run.context)")
                    for i in span.indices { span[i] = T.make(salt &+ UInt64(i)) }
                }
                let wrong = range.first { buffer[$0] != T.make(salt &+ UInt64($0 - range.lowerBound)) }
                #expect(wrong == nil, "mutableSpan(\(range)) write to \(wrong ?? -1) not seen — \(run.context)")
                #expect(
                    snapshot.matches(base, from: 0, to: range.lowerBound * stride)
                        && snapshot.matches(base, from: range.upperBound * stride),
                    "mutableSpan(\(range)) changed bytes outside the range — \(run.context)")
                // Put the tile back for the next range.
                do {
                    var span = buffer.mutableSpan(range)
                    for i in span.indices { span[i] = tile[(range.lowerBound + i) % tile.count] }
                }
            }
            buffer.free()
            run.freed(byteCount)
            run.expectLive(allocator.statistics)
        }
    }
}

@Suite("Properties")
struct PropertiesTests {  // the name matches `--filter Properties`
    @Test(
        "allocation succeeds or throws the right typed error; counts, sizes, alignment, zeroing, counters",
        arguments: AllocatorKind.allCases, ElementKind.allCases)
    func allocationOutcomes(allocator: AllocatorKind, element: ElementKind) {
        runProperty(AllocationOutcomes.self, allocator, element)
    }

    @Test(
        "invalid alignments throw invalidAlignment; the element's own and 1 GiB work",
        arguments: AllocatorKind.allCases, ElementKind.allCases)
    func alignmentOutcomes(allocator: AllocatorKind, element: ElementKind) {
        runProperty(AlignmentOutcomes.self, allocator, element)
    }

    @Test(
        "fill, per-element writes and clear read back through subscript, span and toArray",
        arguments: AllocatorKind.allCases, ElementKind.allCases)
    func fillReadBack(allocator: AllocatorKind, element: ElementKind) {
        runProperty(FillReadBack.self, allocator, element)
    }

    @Test(
        "copy(from:) round-trips equal counts, throws countMismatch otherwise, handles overlap",
        arguments: AllocatorKind.allCases, ElementKind.allCases)
    func copyRoundTrip(allocator: AllocatorKind, element: ElementKind) {
        runProperty(CopyRoundTrip.self, allocator, element)
    }

    @Test(
        "span(range) and mutableSpan(range) give exactly the range's elements",
        arguments: AllocatorKind.allCases, ElementKind.allCases)
    func spanRanges(allocator: AllocatorKind, element: ElementKind) {
        runProperty(SpanRanges.self, allocator, element)
    }
}
