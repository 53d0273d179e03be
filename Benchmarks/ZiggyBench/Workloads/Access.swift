import CZiggyReferences
import CZiggyShims
import ZiggyMmap

/// A loop of the access workload, and the bytes it moves per element (what STREAM counts).
enum AccessKernel: String, CaseIterable {
    case fill, copy, triad, sum, stencil

    var workload: String { "access-\(rawValue)" }
    var bytesPerElement: Int {
        switch self {
        case .fill, .sum: return 8
        case .copy, .stencil: return 16
        case .triad: return 24
        }
    }
}

/// How a loop reaches the memory: the C kernel (the reference), then the ways users write it.
enum AccessVariant: String, CaseIterable {
    case c = "c-kernel"
    /// `buffer[i]` through `inout` parameters (`borrowing` for buffers only read).
    case indexed = "buffer[i]"
    /// `fields.a[i]` through an `inout` struct holding the buffers.
    case structure = "buffer[i] in a struct"
    /// `buffer[i]` in a generic function over `UnmanagedBuffer<T>`.
    case generic = "buffer[i] generic"
    /// `mutableSpan` / `span` indexing.
    case span = "span"
    /// A Swift loop over unsafe pointers (Triad only): the floor without any checks.
    case raw = "raw pointer"

    static func variants(for kernel: AccessKernel) -> [AccessVariant] {
        kernel == .triad ? allCases : allCases.filter { $0 != .raw }
    }
}

extension Runner {
    /// Every access kernel through every variant over the same three buffers, round-robin, at each
    /// size of `accessSizes` (in cache and far beyond it): the question is code, so the memory is
    /// the same for every variant. A sample repeats the kernel until it lasts `minSampleSeconds`.
    func access() {
        for size in config.accessSizes {
            let count = size / 8
            let buffers: AccessBuffers
            do {
                buffers = try AccessBuffers(count: count)
            } catch {
                rows.append(
                    .unavailable(
                        "c-kernel", AccessKernel.triad.workload, bytes: size, threads: 1, unit: .gigabytesPerSecond,
                        reason: "could not allocate 3 × \(formatBytes(size)): \(error)"))
                continue
            }
            for kernel in AccessKernel.allCases {
                let repeats = calibrate { n in _ = buffers.run(kernel, .c, repeats: n) }
                let moved = Double(kernel.bytesPerElement * count * repeats)
                let contenders = AccessVariant.variants(for: kernel).map { variant in
                    let contender = Contender(
                        variant.rawValue, bytes: size, unit: .gigabytesPerSecond,
                        note: variant == .c
                            ? "C loop, -O3 -march=native, same memory" : "same memory as c-kernel"
                    ) {
                        moved / buffers.run(kernel, variant, repeats: repeats) / 1e9
                    }
                    contender.pageSize = "malloc"
                    return contender
                }
                measure(kernel.workload, contenders)
            }
        }
    }
}

/// Three buffers from `SystemMemoryAllocator` that every access variant runs over, and a user's
/// struct holding non-owning buffers over the same memory.
final class AccessBuffers {
    var a: UnmanagedBuffer<Double>
    var b: UnmanagedBuffer<Double>
    var c: UnmanagedBuffer<Double>
    var fields: Fields
    let count: Int
    /// Keeps the sums observable.
    var sink = 0.0

    init(count: Int) throws {
        let allocator = SystemMemoryAllocator()
        // Into locals first: a class initializer that throws between assignments of noncopyable
        // stored properties crashes the Swift 6.3 optimizer (SIL ownership verification in -O).
        var a = try allocator.allocate(Double.self, count: count, alignment: 64)
        var b = try allocator.allocate(Double.self, count: count, alignment: 64)
        var c = try allocator.allocate(Double.self, count: count, alignment: 64)
        a.fill(with: 0)
        b.fill(with: 1)
        c.fill(with: 2)
        let fields = Fields(
            a: UnmanagedBuffer(unsafeWrapping: a.withUnsafeMutableBufferPointer { $0 }),
            b: UnmanagedBuffer(unsafeWrapping: b.withUnsafeMutableBufferPointer { $0 }),
            c: UnmanagedBuffer(unsafeWrapping: c.withUnsafeMutableBufferPointer { $0 }))
        self.a = a
        self.b = b
        self.c = c
        self.fields = fields
        self.count = count
    }

    /// Seconds for `repeats` runs of `kernel` through `variant`.
    func run(_ kernel: AccessKernel, _ variant: AccessVariant, repeats: Int) -> Double {
        let start = now()
        for _ in 0..<repeats {
            switch kernel {
            case .fill: fill(variant)
            case .copy: copy(variant)
            case .triad: triad(variant)
            case .sum: sink += sum(variant)
            case .stencil: stencil(variant)
            }
            zg_compiler_barrier()
        }
        return now() - start
    }

    private func fill(_ variant: AccessVariant) {
        switch variant {
        case .c: zr_fill(a.unsafeBaseAddress, count, 0.5)
        case .indexed, .raw: fillIndexed(&a, 1.5)
        case .structure: fillStruct(&fields, 2.5)
        case .generic: fillGeneric(&a, 3.5)
        case .span: fillSpan(&a, 4.5)
        }
    }

    private func copy(_ variant: AccessVariant) {
        switch variant {
        case .c: zr_copy(a.unsafeBaseAddress, b.unsafeBaseAddress, count)
        case .indexed, .raw: copyIndexed(&a, b)
        case .structure: copyStruct(&fields)
        case .generic: copyGeneric(&a, b)
        case .span: copySpan(&a, b)
        }
    }

    private func triad(_ variant: AccessVariant) {
        switch variant {
        case .c: zr_triad_range(a.unsafeBaseAddress, b.unsafeBaseAddress, c.unsafeBaseAddress, 3, 0, count)
        case .indexed: triadIndexed(&a, b, c)
        case .structure: triadStruct(&fields)
        case .generic: triadGeneric(&a, b, c, 3)
        case .span: triadSpans(&a, b, c)
        case .raw: triadPointers(a.unsafeBaseAddress, b.unsafeBaseAddress, c.unsafeBaseAddress, count)
        }
    }

    private func sum(_ variant: AccessVariant) -> Double {
        switch variant {
        case .c: return zr_sum_plain(b.unsafeBaseAddress, count)
        case .indexed, .raw: return sumIndexed(b)
        case .structure: return sumStruct(fields)
        case .generic: return sumGeneric(b)
        case .span: return sumSpan(b)
        }
    }

    private func stencil(_ variant: AccessVariant) {
        switch variant {
        case .c: zr_stencil3(a.unsafeBaseAddress, b.unsafeBaseAddress, count)
        case .indexed, .raw: stencilIndexed(&a, b)
        case .structure: stencilStruct(&fields)
        case .generic: stencilGeneric(&a, b)
        case .span: stencilSpans(&a, b)
        }
    }
}
