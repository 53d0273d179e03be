// BufferArray (the copy-on-write collection view) against UnmanagedBuffer on the same memory:
// the question is what the view's code costs, so every contender reads and writes the arrays'
// own memory, the buffers wrapping it without owning it.
import CZiggyShims
import ZiggyMmap

extension Runner {
    /// Sum by iteration and Triad through `BufferArray` and through `UnmanagedBuffer`, round-robin.
    func view() {
        let count = config.viewBytes / 8
        let bytes = count * 8
        guard let arrays = try? ViewArrays(count: count) else {
            rows.append(
                .unavailable(
                    "buffer (buffer[i])", "view-sum", bytes: bytes, threads: 1, unit: .gigabytesPerSecond,
                    reason: "could not allocate 3 × \(formatBytes(bytes))"))
            return
        }
        for (workload, moved, variants) in [
            ("view-sum", bytes, ViewVariant.sumVariants), ("view-triad", 3 * bytes, ViewVariant.triadVariants),
        ] {
            let contenders = variants.map { variant in
                let contender = Contender(
                    variant.rawValue, bytes: bytes, unit: .gigabytesPerSecond,
                    note: "same memory (system, 64-byte aligned)"
                ) {
                    Double(moved) / arrays.pass(variant, workload == "view-sum") / 1e9
                }
                contender.pageSize = "malloc"
                return contender
            }
            measure(workload, contenders)
        }
    }
}

/// The loops measured: through the buffer (the reference) and through the view.
enum ViewVariant: String, CaseIterable {
    case buffer = "buffer (buffer[i])"
    case bufferSpan = "buffer (mutableSpan)"
    case arrayForIn = "array (for-in)"
    case arrayReduce = "array (reduce)"
    case arraySubscript = "array (array[i])"
    case arrayPointer = "array (withUnsafeMutableBufferPointer)"
    case arraySpan = "array (mutableSpan)"

    static let sumVariants: [ViewVariant] = [.buffer, .arrayForIn, .arrayReduce, .arraySubscript]
    static let triadVariants: [ViewVariant] = [.buffer, .bufferSpan, .arraySubscript, .arrayPointer, .arraySpan]
}

/// Three arrays, and buffers wrapping their memory (valid while the arrays live, never written
/// through the arrays' shared storage: each array is unique, so no write copies).
final class ViewArrays {
    var a: BufferArray<Double>
    let b: BufferArray<Double>
    let c: BufferArray<Double>
    var wrappedA: UnmanagedBuffer<Double>
    let wrappedB: UnmanagedBuffer<Double>
    let wrappedC: UnmanagedBuffer<Double>
    /// Keeps the sums observable.
    var sink = 0.0

    init(count: Int) throws {
        let allocator = SystemMemoryAllocator()
        // Locals first (see AccessBuffers: the 6.3 optimizer and throwing class initializers).
        var a = try BufferArray(try allocator.allocate(Double.self, count: count, alignment: 64), allocator: allocator)
        var b = try BufferArray(try allocator.allocate(Double.self, count: count, alignment: 64), allocator: allocator)
        var c = try BufferArray(try allocator.allocate(Double.self, count: count, alignment: 64), allocator: allocator)
        for i in 0..<count { a[i] = 0; b[i] = 1; c[i] = Double(i & 7) }
        let wrappedA = UnmanagedBuffer(unsafeWrapping: a.withUnsafeMutableBufferPointer { $0 })
        let wrappedB = UnmanagedBuffer(unsafeWrapping: b.withUnsafeMutableBufferPointer { $0 })
        let wrappedC = UnmanagedBuffer(unsafeWrapping: c.withUnsafeMutableBufferPointer { $0 })
        self.a = a
        self.b = b
        self.c = c
        self.wrappedA = wrappedA
        self.wrappedB = wrappedB
        self.wrappedC = wrappedC
    }

    /// Seconds for one pass of `variant`: the sum of `c`, or Triad a = b + 3c.
    func pass(_ variant: ViewVariant, _ sum: Bool) -> Double {
        let start = now()
        if sum {
            switch variant {
            case .buffer: sink += sumBuffer(wrappedC)
            case .arrayForIn: sink += sumForIn(c)
            case .arrayReduce: sink += sumReduce(c)
            default: sink += sumSubscript(c)
            }
        } else {
            switch variant {
            case .buffer: triadIndexed(&wrappedA, wrappedB, wrappedC)
            case .bufferSpan: triadSpans(&wrappedA, wrappedB, wrappedC)
            case .arraySubscript: triadArraySubscript(&a, b, c)
            case .arrayPointer: triadArrayPointer(&a, b, c)
            default: triadArraySpan(&a, b, c)
            }
        }
        zg_compiler_barrier()
        return now() - start
    }
}

@inline(never)
func sumBuffer(_ buffer: borrowing UnmanagedBuffer<Double>) -> Double {
    var total = 0.0
    for i in buffer.indices { total += buffer[i] }
    return total
}

@inline(never)
func sumForIn(_ array: BufferArray<Double>) -> Double {
    var total = 0.0
    for x in array { total += x }
    return total
}

@inline(never)
func sumReduce(_ array: BufferArray<Double>) -> Double { array.reduce(0, +) }

@inline(never)
func sumSubscript(_ array: BufferArray<Double>) -> Double {
    var total = 0.0
    for i in array.indices { total += array[i] }
    return total
}

@inline(never)
func triadArraySubscript(_ a: inout BufferArray<Double>, _ b: BufferArray<Double>, _ c: BufferArray<Double>) {
    for i in a.indices { a[i] = b[i] + 3 * c[i] }
}

@inline(never)
func triadArrayPointer(_ a: inout BufferArray<Double>, _ b: BufferArray<Double>, _ c: BufferArray<Double>) {
    b.withUnsafeBufferPointer { pb in
        c.withUnsafeBufferPointer { pc in
            a.withUnsafeMutableBufferPointer { pa in
                for i in 0..<Swift.min(pa.count, pb.count, pc.count) { pa[i] = pb[i] + 3 * pc[i] }
            }
        }
    }
}

@inline(never)
func triadArraySpan(_ a: inout BufferArray<Double>, _ b: BufferArray<Double>, _ c: BufferArray<Double>) {
    var sa = a.mutableSpan
    let sb = b.span, sc = c.span
    for i in sa.indices { sa[i] = sb[i] + 3 * sc[i] }
}
