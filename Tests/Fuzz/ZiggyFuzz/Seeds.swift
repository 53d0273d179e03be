#if !ZIGGY_LIBFUZZER
import Glibc

// The seed corpus (Tests/Fuzz/corpus), written by `ziggy-fuzz --write-seeds DIR` from the
// hostile inputs of issue 9: boundaries (0, 1, −1, Int.min, Int.max, Int.max − small), counts
// at Int.max / stride and the address-space limit, alignments that are 0, negative, not powers of
// two or above 1 GiB, every page size and fallback (1 GiB pages this host has none of), alignment
// above the huge page size, offsets near Int.max, every file type. Each seed is a few operations
// in the format of Input.swift.

/// Builds one input.
struct SeedEncoder {
    var bytes: [UInt8] = []
    /// Operations encoded (an input runs at most 16).
    var operations = 0

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func int(_ value: Int) {
        if (-32...31).contains(value) {
            bytes.append(UInt8(value + 0x20))
        } else if let index = FuzzInput.specials.firstIndex(of: value) {
            bytes.append(0x40 + UInt8(index))
        } else {
            bytes.append(0x80)
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }
    }

    /// 0 request: type, flags (1 alignment, 2 zeroed, 4 raw bytes form), count, [alignment].
    mutating func request(type: UInt8, count: Int, alignment: Int? = nil, zeroed: Bool = false, raw: Bool = false) {
        operations += 1
        byte(0)
        byte(type)
        byte((alignment != nil ? 1 : 0) | (zeroed ? 2 : 0) | (raw ? 4 : 0))
        int(count)
        if let alignment { int(alignment) }
    }

    /// 1 core: allocator, type, flags (1 alignment, 2 zeroed, 4 second), count, [alignment], [chunk].
    mutating func core(
        _ allocator: UInt8, type: UInt8, count: Int, alignment: Int? = nil, zeroed: Bool = false,
        second: Bool = false, chunk: Int = 64 << 10
    ) {
        operations += 1
        byte(1)
        byte(allocator)
        byte(type)
        byte((alignment != nil ? 1 : 0) | (zeroed ? 2 : 0) | (second ? 4 : 0))
        int(count)
        if let alignment { int(alignment) }
        if allocator == 1 || allocator == 3 { int(chunk) }
    }

    enum Fallback { case strict, anySmaller, list([UInt8]), empty }
    enum Populate { case none, kernel, parallel(Int) }

    /// 2 mmap: page size, fallback [list], type, flags, count, [alignment], [threads].
    mutating func mmap(
        _ pageSize: UInt8, _ fallback: Fallback, type: UInt8, count: Int, alignment: Int? = nil,
        zeroed: Bool = false, populate: Populate = .none, pool: Bool = false, debug: Bool = false,
        second: Bool = false, lock: Bool = false
    ) {
        operations += 1
        byte(2)
        byte(pageSize)
        switch fallback {
        case .strict: byte(0)
        case .anySmaller: byte(1)
        case .list(let sizes):
            byte(2)
            var list = UInt8(sizes.count)
            for (index, size) in sizes.enumerated() { list |= size << (2 + 2 * UInt8(index)) }
            byte(list)
        case .empty: byte(3)
        }
        byte(type)
        var flags: UInt8 =
            (alignment != nil ? 1 : 0) | (zeroed ? 2 : 0) | (pool ? 16 : 0) | (debug ? 32 : 0)
            | (second ? 64 : 0) | (lock ? 128 : 0)
        switch populate {
        case .none: break
        case .kernel: flags |= 4
        case .parallel: flags |= 8
        }
        byte(flags)
        int(count)
        if let alignment { int(alignment) }
        if case .parallel(let threads) = populate { int(threads) }
    }

    /// 4 fault: the next mapping operation's (1 + call % 24)-th seam call fails with errnos[errno % 8].
    mutating func fault(call: Int, errno: UInt8) {
        operations += 1
        byte(4)
        byte(UInt8(call - 1))
        byte(errno)
    }

    /// 3 file: target, type, flags (1 count, 2 read-write, 4 createOrExtend, 8 populate), count, offset.
    mutating func file(
        _ target: UInt8, type: UInt8, count: Int?, offset: Int, writable: Bool = false,
        extend: Bool = false, populate: Bool = false
    ) {
        operations += 1
        byte(3)
        byte(target)
        byte(type)
        byte((count != nil ? 1 : 0) | (writable ? 2 : 0) | (extend ? 4 : 0) | (populate ? 8 : 0))
        int(count ?? 0)
        int(offset)
    }
}

enum Seeds {
    static let strides = [1, 3, 8, 24, 64, 8, 1]
    static let boundaries = [0, 1, -1, Int.min, Int.min + 1, Int.max, Int.max - 1, Int.max - 7, Int.max - 32]
    static let alignments = [0, -1, -16, 3, 24, 4095, 1 << 30, (1 << 30) + 1, 1 << 31, 2 << 30, Int.max, Int.min, 1]

    /// Every seed, by name.
    static func all() -> [(String, [UInt8])] {
        var seeds: [(String, [UInt8])] = []
        func add(_ name: String, _ build: (inout SeedEncoder) -> Void) {
            var encoder = SeedEncoder()
            build(&encoder)
            precondition(encoder.operations <= 16, "seed \(name) has \(encoder.operations) operations; inputs run 16")
            seeds.append((name, encoder.bytes))
        }
        // (a) request validation: boundaries, Int.max / stride, the address-space limit, alignments.
        for type in 0..<7 {
            let stride = strides[type]
            add("request-counts-type\(type)") { e in
                for count in boundaries { e.request(type: UInt8(type), count: count) }
                for count in [
                    Int.max / stride, Int.max / stride &+ 1, (1 << 47) / stride, (1 << 47) / stride + 1,
                    Int.min / stride,
                ] {
                    e.request(type: UInt8(type), count: count, zeroed: true)
                }
            }
            add("request-alignments-type\(type)") { e in
                for alignment in alignments { e.request(type: UInt8(type), count: 1, alignment: alignment) }
                e.request(type: UInt8(type), count: 0, alignment: 0)
                e.request(type: UInt8(type), count: -1, alignment: 3)
            }
        }
        add("request-raw-byte-counts") { e in
            for count in boundaries { e.request(type: 0, count: count, raw: true) }
        }
        add("request-raw-alignments") { e in
            for alignment in alignments { e.request(type: 0, count: 16, alignment: alignment, raw: true) }
        }
        // (b) the core allocators: small, empty, impossible, invalid; arenas with impossible chunks.
        for allocator in 0..<5 {
            add("core-allocator\(allocator)") { e in
                let a = UInt8(allocator)
                e.core(a, type: 0, count: 1)
                e.core(a, type: 1, count: 0)
                e.core(a, type: 2, count: 100, zeroed: true, second: true)
                e.core(a, type: 3, count: 7, alignment: 4096, zeroed: true)
                e.core(a, type: 4, count: 3, alignment: 1 << 30)
                e.core(a, type: 2, count: -1)
                e.core(a, type: 2, count: Int.max)
                e.core(a, type: 3, count: Int.max / 24 + 1)
                e.core(a, type: 0, count: 1 << 41)
                e.core(a, type: 0, count: 1 << 47)
                e.core(a, type: 0, count: (1 << 47) + 1)
                e.core(a, type: 4, count: 1, alignment: 8)
                e.core(a, type: 5, count: 1)
                e.core(a, type: 6, count: 5, alignment: 64, second: true)
            }
        }
        for chunk in [Int.max, Int.max - 32, 1 << 62, Int.max - 4095, 0, -1, Int.min, 1, 4095] {
            add("core-arena-chunk-\(chunk)") { e in
                e.core(1, type: 0, count: 1, chunk: chunk)
                e.core(3, type: 2, count: 1, second: true, chunk: chunk)
                e.core(1, type: 4, count: 64, alignment: 1 << 30, chunk: chunk)
            }
        }
        // (c) mmap: every page size × fallback, alignments above the page size, population.
        let fallbacks: [(String, SeedEncoder.Fallback)] = [
            ("strict", .strict), ("anysmaller", .anySmaller), ("base", .list([0])), ("thp-base", .list([1, 0])),
            ("2m-base", .list([2, 0])), ("empty", .empty), ("1g-2m-1g", .list([3, 2, 3])),
        ]
        for size in 0..<4 {
            for (name, fallback) in fallbacks {
                add("mmap-page\(size)-\(name)") { e in
                    let s = UInt8(size)
                    e.mmap(s, fallback, type: 0, count: 1)
                    e.mmap(s, fallback, type: 2, count: (2 << 20) / 8 + 1, zeroed: true)
                    e.mmap(s, fallback, type: 0, count: 1, alignment: 64 << 20)
                    e.mmap(s, fallback, type: 0, count: 1, alignment: 1 << 30, populate: .kernel)
                    e.mmap(s, fallback, type: 4, count: 3, alignment: 2 << 20, populate: .kernel, second: true)
                    e.mmap(s, fallback, type: 0, count: 1 << 41)
                    e.mmap(s, fallback, type: 0, count: Int.max)
                    e.mmap(s, fallback, type: 1, count: 12345, alignment: 3)
                }
            }
        }
        add("mmap-issue6-hugetlb-overaligned") { e in
            for alignment in [4 << 20, 64 << 20, 1 << 30] {
                e.mmap(2, .strict, type: 0, count: 1, alignment: alignment)
                e.mmap(2, .anySmaller, type: 0, count: 1, alignment: alignment)
                e.mmap(2, .strict, type: 0, count: 1, alignment: alignment, populate: .kernel)
            }
        }
        add("mmap-pool-reuse") { e in
            e.mmap(0, .strict, type: 2, count: 1000, zeroed: true, pool: true)
            e.mmap(1, .anySmaller, type: 0, count: 3 << 20, zeroed: true, populate: .kernel, pool: true)
            e.mmap(2, .anySmaller, type: 0, count: 1, alignment: 4096, zeroed: true, pool: true, debug: true)
            e.mmap(3, .anySmaller, type: 4, count: 100, zeroed: true, pool: true, second: true)
        }
        add("mmap-debug-lock") { e in
            e.mmap(0, .strict, type: 0, count: 1 << 20, debug: true)
            e.mmap(0, .strict, type: 0, count: 200_000, populate: .kernel, debug: true, lock: true)
            e.mmap(2, .anySmaller, type: 2, count: 1, debug: true, lock: true)
        }
        add("mmap-parallel-threads") { e in
            for threads in [0, -1, Int.min, 1, 2, Int.max] {
                e.mmap(0, .strict, type: 0, count: 64 << 10, populate: .parallel(threads))
            }
            e.mmap(2, .anySmaller, type: 0, count: 1, populate: .parallel(0))
            e.mmap(3, .strict, type: 0, count: 1, populate: .parallel(Int.max))
        }
        // (d) file mappings: offsets near Int.max, negative, unaligned; counts near Int.max / stride.
        let offsets = [
            0, -1, Int.min, Int.max, Int.max - 7, Int.max - 4095, Int.max - 12411, 3, 4096, 12288,
            12400, 12410, 12411, 12412, 1 << 62,
        ]
        for type in [0, 1, 2, 4, 5] {
            add("file-offsets-type\(type)") { e in
                for offset in offsets { e.file(0, type: UInt8(type), count: nil, offset: offset) }
                e.file(0, type: UInt8(type), count: 1, offset: 8, populate: true)
            }
            let stride = strides[type]
            add("file-counts-type\(type)") { e in
                for count in [0, 1, -1, Int.max, Int.max / stride, Int.max / stride &+ 1, (1 << 47) / stride, 12411 / stride] {
                    e.file(0, type: UInt8(type), count: count, offset: 0)
                    e.file(0, type: UInt8(type), count: count, offset: Int.max - 7)
                }
            }
        }
        add("file-targets") { e in
            for target in 0..<8 {
                e.file(UInt8(target), type: 0, count: nil, offset: 0)
                e.file(UInt8(target), type: 2, count: 1, offset: 0, writable: true)
            }
        }
        add("file-extend") { e in
            e.file(2, type: 0, count: 4096, offset: 0, writable: true, extend: true)
            e.file(2, type: 2, count: 1, offset: 1 << 20, writable: true, extend: true, populate: true)
            e.file(2, type: 0, count: Int.max, offset: 1, writable: true, extend: true)
            e.file(2, type: 0, count: 1, offset: Int.max, writable: true, extend: true)
            e.file(2, type: 0, count: 1 << 41, offset: 0, writable: true, extend: true)
            e.file(7, type: 0, count: 10, offset: 0, writable: true, extend: true)
            e.file(7, type: 0, count: nil, offset: 0, writable: true, extend: true)
            e.file(3, type: 0, count: 1, offset: 0, writable: true, extend: true)
        }
        add("file-populate-readwrite") { e in
            e.file(0, type: 0, count: nil, offset: 4096, writable: true, populate: true)
            e.file(0, type: 3, count: 100, offset: 24, populate: true)
            e.file(1, type: 0, count: nil, offset: 0, populate: true)
            e.file(1, type: 0, count: nil, offset: 1)
        }
        // Injected kernel failures at each step of the mapping pipeline: typed errors, nothing left.
        for call in stride(from: 1, through: 12, by: 1) {
            add("fault-call\(call)") { e in
                e.fault(call: call, errno: UInt8(call % 8))
                e.mmap(2, .anySmaller, type: 0, count: 1, alignment: 64 << 20, populate: .kernel)
                e.fault(call: call, errno: 0)
                e.mmap(0, .strict, type: 2, count: 1000, zeroed: true, populate: .parallel(2), pool: true)
                e.fault(call: call, errno: 1)
                e.mmap(1, .strict, type: 0, count: 3 << 20, populate: .kernel, debug: true, lock: true)
                e.fault(call: call, errno: 3)
                e.file(0, type: 2, count: nil, offset: 4096, writable: true, populate: true)
                e.fault(call: call, errno: 0)
                e.file(2, type: 0, count: 5000, offset: 8, writable: true, extend: true)
            }
        }
        return seeds
    }

    /// Writes the seeds into `directory` (which must exist).
    static func write(to directory: String) -> Int {
        for (name, bytes) in all() {
            let path = directory + "/" + name
            guard let file = fopen(path, "wb") else {
                printError("ziggy-fuzz: cannot write \(path)\n")
                exit(1)
            }
            _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
        return all().count
    }
}
#endif
