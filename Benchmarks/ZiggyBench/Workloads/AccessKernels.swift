// The loops users write over the library's buffers, each in its own non-inlined function: the
// shapes the access workload measures against the same loop in C. Nothing here is tuned; that is
// the point (ZiggyAlloc's promise is that this code runs at the speed of the C loop).
import ZiggyMmap

/// A user's structure-of-arrays type: buffers held as stored properties.
struct Fields: ~Copyable {
    var a: UnmanagedBuffer<Double>
    var b: UnmanagedBuffer<Double>
    var c: UnmanagedBuffer<Double>
}

// MARK: buffer[i] through an inout parameter (and borrowing ones for what is only read)

@inline(never)
func fillIndexed(_ a: inout UnmanagedBuffer<Double>, _ value: Double) {
    for i in a.indices { a[i] = value }
}

@inline(never)
func copyIndexed(_ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>) {
    for i in a.indices { a[i] = b[i] }
}

@inline(never)
func triadIndexed(
    _ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>, _ c: borrowing UnmanagedBuffer<Double>
) {
    for i in a.indices { a[i] = b[i] + 3 * c[i] }
}

@inline(never)
func sumIndexed(_ b: borrowing UnmanagedBuffer<Double>) -> Double {
    var total = 0.0
    for i in b.indices { total += b[i] }
    return total
}

@inline(never)
func stencilIndexed(_ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>) {
    guard b.count > 2 else { return }
    for i in 1..<(b.count - 1) { a[i] = 0.25 * b[i - 1] + 0.5 * b[i] + 0.25 * b[i + 1] }
}

// MARK: the same through a struct holding the buffers

@inline(never)
func fillStruct(_ f: inout Fields, _ value: Double) {
    for i in f.a.indices { f.a[i] = value }
}

@inline(never)
func copyStruct(_ f: inout Fields) {
    for i in f.a.indices { f.a[i] = f.b[i] }
}

@inline(never)
func triadStruct(_ f: inout Fields) {
    for i in f.a.indices { f.a[i] = f.b[i] + 3 * f.c[i] }
}

@inline(never)
func sumStruct(_ f: borrowing Fields) -> Double {
    var total = 0.0
    for i in f.b.indices { total += f.b[i] }
    return total
}

@inline(never)
func stencilStruct(_ f: inout Fields) {
    guard f.b.count > 2 else { return }
    for i in 1..<(f.b.count - 1) { f.a[i] = 0.25 * f.b[i - 1] + 0.5 * f.b[i] + 0.25 * f.b[i + 1] }
}

// MARK: generic code over UnmanagedBuffer<T>

@inline(never)
func fillGeneric<T: BinaryFloatingPoint & BitwiseCopyable>(_ a: inout UnmanagedBuffer<T>, _ value: T) {
    for i in a.indices { a[i] = value }
}

@inline(never)
func copyGeneric<T: BitwiseCopyable>(_ a: inout UnmanagedBuffer<T>, _ b: borrowing UnmanagedBuffer<T>) {
    for i in a.indices { a[i] = b[i] }
}

@inline(never)
func triadGeneric<T: BinaryFloatingPoint & BitwiseCopyable>(
    _ a: inout UnmanagedBuffer<T>, _ b: borrowing UnmanagedBuffer<T>, _ c: borrowing UnmanagedBuffer<T>, _ scalar: T
) {
    for i in a.indices { a[i] = b[i] + scalar * c[i] }
}

@inline(never)
func sumGeneric<T: BinaryFloatingPoint & BitwiseCopyable>(_ b: borrowing UnmanagedBuffer<T>) -> T {
    var total: T = 0
    for i in b.indices { total += b[i] }
    return total
}

@inline(never)
func stencilGeneric<T: BinaryFloatingPoint & BitwiseCopyable>(
    _ a: inout UnmanagedBuffer<T>, _ b: borrowing UnmanagedBuffer<T>
) {
    guard b.count > 2 else { return }
    for i in 1..<(b.count - 1) { a[i] = 0.25 * b[i - 1] + 0.5 * b[i] + 0.25 * b[i + 1] }
}

// MARK: spans (what the library's bulk operations use)

@inline(never)
func fillSpan(_ a: inout UnmanagedBuffer<Double>, _ value: Double) {
    var span = a.mutableSpan
    for i in span.indices { span[i] = value }
}

@inline(never)
func copySpan(_ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>) {
    var sa = a.mutableSpan
    let sb = b.span
    for i in sa.indices { sa[i] = sb[i] }
}

@inline(never)
func triadSpans(_ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>, _ c: borrowing UnmanagedBuffer<Double>)
{
    var sa = a.mutableSpan
    let sb = b.span, sc = c.span
    for i in sa.indices { sa[i] = sb[i] + 3 * sc[i] }
}

@inline(never)
func sumSpan(_ b: borrowing UnmanagedBuffer<Double>) -> Double {
    let span = b.span
    var total = 0.0
    for i in span.indices { total += span[i] }
    return total
}

@inline(never)
func stencilSpans(_ a: inout UnmanagedBuffer<Double>, _ b: borrowing UnmanagedBuffer<Double>) {
    var sa = a.mutableSpan
    let sb = b.span
    guard sb.count > 2 else { return }
    for i in 1..<(sb.count - 1) { sa[i] = 0.25 * sb[i - 1] + 0.5 * sb[i] + 0.25 * sb[i + 1] }
}

// MARK: raw pointers (the Swift floor)

@inline(never)
func triadPointers(
    _ a: UnsafeMutablePointer<Double>, _ b: UnsafeMutablePointer<Double>, _ c: UnsafeMutablePointer<Double>, _ count: Int
) {
    for i in 0..<count { a[i] = b[i] + 3 * c[i] }
}
