// The Swift compute kernels, each compiled once in its own non-inlined loop. The access kernels
// use the library's buffer types (with Backend.swift and Workloads/View.swift, the only files that do).
import CZiggyReferences
import CZiggyShims
import ZiggyMmap

/// STREAM's initialization (a = 2, b = 2, c = 0 after stream.c's doubling) of one share.
@inline(never)
func initializeStream(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ c: UnsafeMutableRawPointer, _ range: Range<Int>)
{
    let pa = a.assumingMemoryBound(to: Double.self), pb = b.assumingMemoryBound(to: Double.self)
    let pc = c.assumingMemoryBound(to: Double.self)
    for i in range { pa[i] = 2; pb[i] = 2; pc[i] = 0 }
}

/// Triad through `UnmanagedBuffer` subscripts (bounds-checked) over memory of `count` doubles each.
@inline(never)
func triadBuffer(
    _ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ c: UnsafeMutableRawPointer, _ count: Int,
    _ range: Range<Int>
) {
    var ba = UnmanagedBuffer(
        unsafeWrapping: UnsafeMutableBufferPointer(start: a.assumingMemoryBound(to: Double.self), count: count))
    let bb = UnmanagedBuffer(
        unsafeWrapping: UnsafeMutableBufferPointer(start: b.assumingMemoryBound(to: Double.self), count: count))
    let bc = UnmanagedBuffer(
        unsafeWrapping: UnsafeMutableBufferPointer(start: c.assumingMemoryBound(to: Double.self), count: count))
    for i in range { ba[i] = bb[i] + 3 * bc[i] }
}

/// Three buffers from `SystemMemoryAllocator` that every access variant runs over.
final class AccessBuffers {
    var a: UnmanagedBuffer<Double>
    var b: UnmanagedBuffer<Double>
    var c: UnmanagedBuffer<Double>
    let count: Int

    init(count: Int) throws {
        let allocator = SystemMemoryAllocator()
        // Into locals first: a class initializer that throws between assignments of noncopyable
        // stored properties crashes the Swift 6.3 optimizer (SIL ownership verification in -O).
        let a = try allocator.allocate(Double.self, count: count, alignment: 64)
        let b = try allocator.allocate(Double.self, count: count, alignment: 64)
        let c = try allocator.allocate(Double.self, count: count, alignment: 64)
        self.a = a
        self.b = b
        self.c = c
        self.count = count
        self.a.fill(with: 0); self.b.fill(with: 1); self.c.fill(with: 2)
    }

    /// The variants, each returning seconds for one pass: fill (a = v) and Triad (a = b + 3c).
    func fill(_ variant: AccessVariant) -> Double {
        let start = now()
        switch variant {
        case .c: zr_fill(a.unsafeBaseAddress, count, 0.5)
        case .raw: fillRaw(a.unsafeBaseAddress, count, 1.5)
        case .element: fillSubscript(&a, 2.5)
        case .span: fillSpan(&a, 3.5)
        }
        zg_compiler_barrier()
        return now() - start
    }

    func triad(_ variant: AccessVariant) -> Double {
        let start = now()
        switch variant {
        case .c: zr_triad_range(a.unsafeBaseAddress, b.unsafeBaseAddress, c.unsafeBaseAddress, 3, 0, count)
        case .raw: triadPointers(a.unsafeBaseAddress, b.unsafeBaseAddress, c.unsafeBaseAddress, count)
        case .element: triadSubscript(&a, b, c)
        case .span: triadSpans(&a, b, c)
        }
        zg_compiler_barrier()
        return now() - start
    }
}

enum AccessVariant: String, CaseIterable {
    case c = "c-kernel"
    case raw = "raw pointer"
    case element = "buffer[i]"
    case span = "mutableSpan"
}

@inline(never)
func fillRaw(_ p: UnsafeMutablePointer<Double>, _ count: Int, _ value: Double) {
    for i in 0..<count { p[i] = value }
}

@inline(never)
func fillSubscript(_ buffer: inout UnmanagedBuffer<Double>, _ value: Double) {
    for i in buffer.indices { buffer[i] = value }
}

@inline(never)
func fillSpan(_ buffer: inout UnmanagedBuffer<Double>, _ value: Double) {
    var span = buffer.mutableSpan
    for i in span.indices { span[i] = value }
}

@inline(never)
func triadPointers(
    _ a: UnsafeMutablePointer<Double>, _ b: UnsafeMutablePointer<Double>, _ c: UnsafeMutablePointer<Double>, _ count: Int
) {
    for i in 0..<count { a[i] = b[i] + 3 * c[i] }
}

@inline(never)
func triadSubscript(
    _ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>, _ c: borrowing UnmanagedBuffer<Double>
) {
    for i in a.indices { a[i] = b[i] + 3 * c[i] }
}

@inline(never)
func triadSpans(_ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>, _ c: borrowing UnmanagedBuffer<Double>)
{
    var sa = a.mutableSpan
    let sb = b.span, sc = c.span
    for i in sa.indices { sa[i] = sb[i] + 3 * sc[i] }
}

/// HPCC RandomAccess: XOR a pseudo-random stream into random table entries.
@inline(never)
func randomAccess(_ base: UnsafeMutableRawPointer, entries: Int, updates: Int, seed: UInt64) {
    var view = UnmanagedBuffer(
        unsafeWrapping: UnsafeMutableBufferPointer(start: base.assumingMemoryBound(to: UInt64.self), count: entries))
    let mask = UInt64(entries - 1)
    var random = seed
    for _ in 0..<updates {
        random = (random << 1) ^ (Int64(bitPattern: random) < 0 ? 7 : 0)
        view[Int(random & mask)] ^= random
    }
    zr_black_hole(base)
}

/// Follows the cycle for `loads` dependent loads.
@inline(never)
func chase(_ base: UnsafeMutableRawPointer, loads: Int) {
    let slots = base.assumingMemoryBound(to: UInt64.self)
    var index: UInt64 = 0
    for _ in 0..<loads { index = slots[Int(index)] }
    blackHole(index)
}
