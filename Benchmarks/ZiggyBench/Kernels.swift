// The Swift compute kernels, each compiled once in its own non-inlined loop. The access kernels
// (Workloads/AccessKernels.swift) are the code users write over the library's buffers.
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
