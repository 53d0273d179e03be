import ComplexModule
import Testing
import ZiggyAlloc
import ZiggySupport

// Grids (issue 23): the layout arithmetic (strides, padding, leading dimension) checked against
// hand-computed values and against the rules it promises for every shape; the subscripts, views,
// slices and lines checked against the flat storage at i·s0 + j·s1 (+ k·s2); grids from the
// system heap, an arena and a debug allocator; and every bad shape a typed error naming it.
//
// Every test owns its allocators and grids, so the suite holds under `swift test --parallel`.

/// 24 bytes, alignment 8: a line of them is padded to a multiple of lcm(padding, 24) bytes.
private struct Rgb24: Equatable {
    var r = 0.0, g = 0.0, b = 0.0
}

/// Three bytes, stride 3: no power of two divides it.
private struct Tri8: Equatable {
    var a: UInt8 = 0, b: UInt8 = 0, c: UInt8 = 0
}

/// 128 bytes: wider than a cache line.
private struct Wide128 {
    var values: (SIMD16<Float>, SIMD16<Float>) = (.zero, .zero)
}

/// The element types the layout cases use (a layout is generic over its element).
private enum Kind: String, Sendable, CaseIterable {
    case double, float, uint8, rgb24, bytes3

    var stride: Int {
        switch self {
        case .double: MemoryLayout<Double>.stride
        case .float: MemoryLayout<Float>.stride
        case .uint8: 1
        case .rgb24: MemoryLayout<Rgb24>.stride
        case .bytes3: MemoryLayout<Tri8>.stride
        }
    }
}

/// A padding without its element type.
private enum Pad: Sendable, Hashable, CustomStringConvertible {
    case none, cacheLine, bytes(Int)

    func padding<T>(_: T.Type) -> Grid<T>.Padding {
        switch self {
        case .none: .none
        case .cacheLine: .cacheLine
        case .bytes(let n): .bytes(n)
        }
    }

    var multiple: Int {
        switch self {
        case .none: 1
        case .cacheLine: 64
        case .bytes(let n): n
        }
    }

    var description: String {
        switch self {
        case .none: ".none"
        case .cacheLine: ".cacheLine"
        case .bytes(let n): ".bytes(\(n))"
        }
    }
}

/// What a layout computed, without its element type.
private struct Shape: Equatable, CustomStringConvertible {
    var strides: [Int]
    var count: Int
    var leadingDimension: Int
    var byteCount: Int
    var slowest: Int
    var rank: Int

    var description: String { "strides \(strides), count \(count), ld \(leadingDimension)" }
}

private func shape<T>(
    _: T.Type, _ extents: [Int], _ order: Grid<T>.Order, _ pad: Pad
) throws(AllocationError) -> Shape {
    let layout = try Grid<T>.Layout(extents, order: order, padding: pad.padding(T.self))
    #expect(layout.extents == extents && layout.order == order && layout.padding == pad.padding(T.self))
    return Shape(
        strides: layout.strides, count: layout.count, leadingDimension: layout.leadingDimension,
        byteCount: layout.byteCount, slowest: layout.slowestDimension, rank: layout.rank)
}

private func shape(
    _ kind: Kind, _ extents: [Int], columnMajor: Bool, _ pad: Pad
) throws(AllocationError) -> Shape {
    switch kind {
    case .double: try shape(Double.self, extents, columnMajor ? .columnMajor : .rowMajor, pad)
    case .float: try shape(Float.self, extents, columnMajor ? .columnMajor : .rowMajor, pad)
    case .uint8: try shape(UInt8.self, extents, columnMajor ? .columnMajor : .rowMajor, pad)
    case .rgb24: try shape(Rgb24.self, extents, columnMajor ? .columnMajor : .rowMajor, pad)
    case .bytes3: try shape(Tri8.self, extents, columnMajor ? .columnMajor : .rowMajor, pad)
    }
}

/// One hand-computed layout.
private struct LayoutCase: Sendable, CustomTestStringConvertible {
    let kind: Kind
    let extents: [Int]
    let columnMajor: Bool
    let pad: Pad
    let strides: [Int]
    let count: Int
    let leadingDimension: Int

    var testDescription: String {
        "\(kind) \(extents) \(columnMajor ? "column" : "row")-major \(pad)"
    }

    init(_ kind: Kind, _ extents: [Int], _ columnMajor: Bool, _ pad: Pad, strides: [Int], count: Int, ld: Int) {
        (self.kind, self.extents, self.columnMajor, self.pad) = (kind, extents, columnMajor, pad)
        (self.strides, self.count, leadingDimension) = (strides, count, ld)
    }

    private static let (row, col) = (false, true)

    static let all: [LayoutCase] = [
        // Double, 2-D: rows of 5 padded to 8 (64 B); a row of 8 needs no padding.
        LayoutCase(.double, [3, 5], row, .none, strides: [5, 1], count: 15, ld: 5),
        LayoutCase(.double, [3, 5], row, .cacheLine, strides: [8, 1], count: 24, ld: 8),
        LayoutCase(.double, [3, 8], row, .cacheLine, strides: [8, 1], count: 24, ld: 8),
        LayoutCase(.double, [3, 5], col, .none, strides: [1, 3], count: 15, ld: 3),
        // Column-major: the columns (3 long) are the lines, padded to 8.
        LayoutCase(.double, [3, 5], col, .cacheLine, strides: [1, 8], count: 40, ld: 8),
        LayoutCase(.double, [3, 5], row, .bytes(4096), strides: [512, 1], count: 1536, ld: 512),
        // Double, 3-D.
        LayoutCase(.double, [2, 3, 5], row, .none, strides: [15, 5, 1], count: 30, ld: 5),
        LayoutCase(.double, [2, 3, 5], row, .cacheLine, strides: [24, 8, 1], count: 48, ld: 8),
        LayoutCase(.double, [4, 3, 2], col, .none, strides: [1, 4, 12], count: 24, ld: 4),
        LayoutCase(.double, [2, 3, 5], col, .cacheLine, strides: [1, 8, 24], count: 120, ld: 8),
        // Float rows padded to a 32-byte SIMD width: multiples of 8 floats.
        LayoutCase(.float, [3, 17], row, .bytes(32), strides: [24, 1], count: 72, ld: 24),
        // 24-byte elements: a 64-byte boundary comes every 8 elements (192 B), a 32-byte one every 4.
        LayoutCase(.rgb24, [4, 5], row, .cacheLine, strides: [8, 1], count: 32, ld: 8),
        LayoutCase(.rgb24, [4, 9], row, .cacheLine, strides: [16, 1], count: 64, ld: 16),
        LayoutCase(.rgb24, [4, 3], row, .bytes(32), strides: [4, 1], count: 16, ld: 4),
        LayoutCase(.rgb24, [2, 3], row, .none, strides: [3, 1], count: 6, ld: 3),
        // 3-byte elements: a 64-byte boundary only every 64 elements.
        LayoutCase(.bytes3, [2, 10], row, .cacheLine, strides: [64, 1], count: 128, ld: 64),
        LayoutCase(.bytes3, [2, 3, 10], col, .bytes(4), strides: [1, 4, 12], count: 120, ld: 4),
        // Bytes: 64 per row is already whole lines; a 1-wide row still takes a line of its own.
        LayoutCase(.uint8, [3, 64], row, .cacheLine, strides: [64, 1], count: 192, ld: 64),
        LayoutCase(.uint8, [5, 1], row, .cacheLine, strides: [64, 1], count: 320, ld: 64),
    ]
}

@Suite("Grids")
struct GridTests {
    let system = SystemMemoryAllocator()

    // MARK: layouts

    @Test("strides, count and leading dimension of 2-D and 3-D, row- and column-major, padded layouts", arguments: LayoutCase.all)
    fileprivate func layouts(_ c: LayoutCase) throws {
        let s = try shape(c.kind, c.extents, columnMajor: c.columnMajor, c.pad)
        #expect(s.strides == c.strides)
        #expect(s.count == c.count)
        #expect(s.leadingDimension == c.leadingDimension)
        #expect(s.byteCount == c.count * c.kind.stride)
        #expect(s.rank == c.extents.count)
        #expect(s.slowest == (c.columnMajor ? c.extents.count - 1 : 0))
    }

    @Test("every shape: the fastest stride is 1, lines are padded to the least multiple that starts them on the boundary")
    func layoutRules() throws {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        var checked = 0
        for kind in Kind.allCases {
            for pad in [Pad.none, .cacheLine, .bytes(64), .bytes(256), .bytes(4096)]
            where pad == .none || pad.multiple >= kind.stride {
                for extents in [[1, 1], [1, 7], [7, 1], [5, 13], [3, 4, 5], [1, 1, 1], [2, 1, 33], [9, 2, 1]] {
                    for columnMajor in [false, true] {
                        let s = try shape(kind, extents, columnMajor: columnMajor, pad)
                        let what = "\(kind) \(extents) \(columnMajor ? "column" : "row")-major \(pad): \(s)"
                        let rank = extents.count
                        let fastest = columnMajor ? 0 : rank - 1
                        // The least line length (in elements) whose bytes are a multiple of the padding.
                        let step = pad == .none ? 1 : pad.multiple / gcd(pad.multiple, kind.stride)
                        #expect(s.strides[fastest] == 1, "\(what)")
                        #expect(s.leadingDimension >= extents[fastest], "\(what)")
                        #expect(s.leadingDimension - extents[fastest] < step, "\(what)")
                        #expect(s.leadingDimension % step == 0, "\(what)")
                        #expect(s.leadingDimension * kind.stride % pad.multiple == 0, "\(what)")
                        // Each slower dimension's stride is the previous one's times its extent.
                        let order = columnMajor ? Array(0..<rank) : Array((0..<rank).reversed())
                        for (faster, slower) in zip(order, order.dropFirst()) {
                            let expected = faster == fastest ? s.leadingDimension : s.strides[faster] * extents[faster]
                            #expect(s.strides[slower] == expected, "\(what)")
                        }
                        let slowest = order.last!
                        #expect(s.count == s.strides[slowest] * extents[slowest], "\(what)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 200)
    }

    @Test("a layout describes its extents, order, strides, padding and size")
    func layoutDescription() throws {
        let layout = try Grid<Double>.Layout([3, 5])
        #expect(layout.description == "3 × 5 Double, row-major, strides [8, 1] elements, lines of 8 (3 padding, 64 B), 192 B")
        let column = try Grid<Float>.Layout([2, 3, 4], order: .columnMajor, padding: .none)
        #expect(column.description.contains("2 × 3 × 4 Float, column-major, strides [1, 2, 6]"))
        #expect(try Grid<Double>.Layout([3, 5]) == layout)
        #expect(try Grid<Double>.Layout([3, 5], padding: .none) != layout)
    }

    @Test("elements wider than a cache line take the default padding: no padding is needed to start lines on 64 B")
    func wideElementsDefaultPadding() throws {
        // 128-byte elements already start every line on a 64-byte boundary; the default padding
        // (which the caller did not choose) must not refuse them.
        let layout = try Grid<Wide128>.Layout([3, 3])
        #expect(layout.strides == [3, 1] && layout.count == 9)
        // 96-byte elements: every second one starts on a 64-byte boundary.
        let odd = try Grid<(SIMD16<Float>, SIMD8<Float>)>.Layout([2, 3])
        #expect(odd.leadingDimension == 4)
        var grid = try Grid<Wide128>(extents: [4, 2], allocator: system)
        grid[3, 1] = Wide128(values: (.one, .zero))
        #expect(grid[3, 1].values.0 == .one)
        // An explicit padding below the element stays an error (the caller asked for it).
        #expect(throws: AllocationError.self) { try Grid<Wide128>.Layout([3, 3], padding: .bytes(64)) }
    }

    // MARK: storage

    @Test("the first element is aligned to 64 B, the padding or the alignment asked for, and every line starts on the padding")
    func alignment() throws {
        for (pad, alignment, expected) in [
            (Pad.cacheLine, nil, 64), (.none, nil, 64), (.bytes(32), nil, 64), (.bytes(4096), nil, 4096),
            (.cacheLine, 256, 256), (.bytes(128), nil, 128), (.none, 8, 8),
        ] as [(Pad, Int?, Int)] {
            let grid = try Grid<Double>(
                extents: [7, 13], padding: pad.padding(Double.self), alignment: alignment, allocator: system)
            let base = UInt(bitPattern: grid.buffer.unsafeBaseAddress)
            #expect(base % UInt(expected) == 0, "\(pad), alignment \(alignment.map(String.init) ?? "nil")")
            for i in 0..<7 {
                let row = grid.view.line(i)
                row.withUnsafeBufferPointer { row in
                    #expect(UInt(bitPattern: row.baseAddress) % UInt(pad.multiple) == 0, "row \(i), \(pad)")
                }
            }
        }
    }

    @Test("a flat buffer becomes a grid and back without a copy: same base address, same elements")
    func flatConversion() throws {
        let layout = try Grid<Double>.Layout([4, 6])  // rows of 6 padded to 8
        var flat = try system.allocate(Double.self, count: layout.count)
        for n in 0..<layout.count { flat[n] = Double(n) }
        let base = UInt(bitPattern: flat.unsafeBaseAddress)
        var grid = try Grid(flat, layout: layout)
        #expect(UInt(bitPattern: grid.buffer.unsafeBaseAddress) == base)
        #expect(grid.buffer.count == layout.count)
        for i in 0..<4 {
            for j in 0..<6 { #expect(grid[i, j] == Double(i * 8 + j)) }
        }
        grid[3, 5] = -1
        grid.withUnsafeMutableBufferPointer { storage in
            #expect(storage.count == 32)
            storage[8 * 2 + 1] = -2
        }
        #expect(grid[2, 1] == -2)
        let back = grid.takeBuffer()
        #expect(UInt(bitPattern: back.unsafeBaseAddress) == base)
        #expect(back[3 * 8 + 5] == -1 && back[7] == 7)  // the padding kept its values
    }

    @Test(
        "subscripts read and write the flat storage at i·s0 + j·s1 (+ k·s2), and never the padding",
        arguments: [[5, 7], [3, 4, 5], [1, 9], [6, 1, 2]], [false, true])
    func subscriptsAgreeWithStorage(extents: [Int], columnMajor: Bool) throws {
        var grid = try Grid<Double>(
            extents: extents, order: columnMajor ? .columnMajor : .rowMajor, zeroed: true, allocator: system)
        let s = grid.layout.strides
        let third = extents.count == 3 ? extents[2] : 1
        func value(_ i: Int, _ j: Int, _ k: Int) -> Double { Double(1 + i * 10_000 + j * 100 + k) }
        for i in 0..<extents[0] {
            for j in 0..<extents[1] {
                for k in 0..<third {
                    if extents.count == 3 { grid[i, j, k] = value(i, j, k) } else { grid[i, j] = value(i, j, 0) }
                }
            }
        }
        var written = 0
        for i in 0..<extents[0] {
            for j in 0..<extents[1] {
                for k in 0..<third {
                    let offset = i * s[0] + j * s[1] + (extents.count == 3 ? k * s[2] : 0)
                    #expect(grid.buffer[offset] == value(i, j, k), "\(extents) [\(i), \(j), \(k)] at \(offset)")
                    let read = extents.count == 3 ? grid[i, j, k] : grid[i, j]
                    #expect(read == value(i, j, k))
                    written += 1
                }
            }
        }
        // Everything else is padding, still zero.
        #expect(grid.buffer.toArray().filter { $0 != 0 }.count == written)
        #expect(written == extents.reduce(1, *))
    }

    // MARK: views

    @Test("2-D views, slices and lines agree with the grid; column-major lines are columns", arguments: [false, true])
    func views2D(columnMajor: Bool) throws {
        var grid = try Grid<Int>(extents: [6, 7], order: columnMajor ? .columnMajor : .rowMajor, allocator: system)
        for i in 0..<6 { for j in 0..<7 { grid[i, j] = i * 100 + j } }
        do {
            let view = grid.view
            #expect(view.rank == 2)
            #expect(view.indices(0) == 0..<6 && view.indices(1) == 0..<7 && view.indices(2) == 0..<0)
            for i in 0..<6 { for j in 0..<7 { #expect(view[i, j] == i * 100 + j) } }
            let part = view.slice(2..<5, 1..<4)
            #expect(part.indices(0) == 2..<5 && part.indices(1) == 1..<4)
            for i in 2..<5 { for j in 1..<4 { #expect(part[i, j] == i * 100 + j) } }
            let inner = part.slice(3..<4, 2..<4)
            #expect(inner.indices(0) == 3..<4 && inner.indices(1) == 2..<4 && inner[3, 3] == 303)
            let empty = view.slice(6..<6, 0..<7)
            #expect(empty.indices(0).isEmpty && empty.indices(1) == 0..<7)
            if columnMajor {
                // Column j, down the rows of the view.
                let column = view.line(4)
                #expect(column.count == 6)
                for i in 0..<6 { #expect(column[i] == i * 100 + 4) }
                let partColumn = part.line(2)
                #expect(partColumn.count == 3 && partColumn[0] == 202 && partColumn[2] == 402)
            } else {
                let row = view.line(4)
                #expect(row.count == 7)
                for j in 0..<7 { #expect(row[j] == 400 + j) }
                let partRow = part.line(3)
                #expect(partRow.count == 3 && partRow[0] == 301 && partRow[2] == 303)
            }
        }
        do {
            var mutable = grid.mutableView
            #expect(mutable.rank == 2 && mutable.indices(0) == 0..<6 && mutable.indices(1) == 0..<7)
            mutable[1, 2] = -1
            #expect(mutable[1, 2] == -1 && mutable.view[1, 2] == -1)
            var part = mutable.slice(2..<4, 0..<3)
            #expect(part.indices(0) == 2..<4 && part.indices(1) == 0..<3)
            part[3, 1] = -2
            var line = part.mutableLine(columnMajor ? 2 : 3)
            #expect(line.count == (columnMajor ? 2 : 3))
            // Element [3, 2]: the third of row 3 (row-major), the second of column 2 from row 2.
            line[columnMajor ? 1 : 2] = -3
        }
        #expect(grid[1, 2] == -1 && grid[3, 1] == -2 && grid[3, 2] == -3)
    }

    @Test("3-D views, slices and lines agree with the grid", arguments: [false, true])
    func views3D(columnMajor: Bool) throws {
        var grid = try Grid<Int32>(
            extents: [4, 5, 6], order: columnMajor ? .columnMajor : .rowMajor, padding: .bytes(32), allocator: system)
        func value(_ i: Int, _ j: Int, _ k: Int) -> Int32 { Int32(i * 10_000 + j * 100 + k) }
        for i in 0..<4 { for j in 0..<5 { for k in 0..<6 { grid[i, j, k] = value(i, j, k) } } }
        do {
            let view = grid.view
            #expect(view.rank == 3 && view.indices(2) == 0..<6)
            let part = view.slice(1..<3, 2..<5, 3..<6)
            #expect(part.indices(0) == 1..<3 && part.indices(1) == 2..<5 && part.indices(2) == 3..<6)
            for i in 1..<3 { for j in 2..<5 { for k in 3..<6 { #expect(part[i, j, k] == value(i, j, k)) } } }
            if columnMajor {
                // Along i, through (j, k).
                let line = view.line(3, 5)
                #expect(line.count == 4)
                for i in 0..<4 { #expect(line[i] == value(i, 3, 5)) }
                let partLine = part.line(4, 3)
                #expect(partLine.count == 2 && partLine[0] == value(1, 4, 3) && partLine[1] == value(2, 4, 3))
            } else {
                // Along k, through (i, j).
                let line = view.line(3, 4)
                #expect(line.count == 6)
                for k in 0..<6 { #expect(line[k] == value(3, 4, k)) }
                let partLine = part.line(2, 3)
                #expect(partLine.count == 3 && partLine[0] == value(2, 3, 3))
            }
        }
        do {
            var mutable = grid.mutableView
            mutable[0, 0, 0] = -1
            var part = mutable.slice(2..<4, 0..<2, 1..<3)
            #expect(part.indices(2) == 1..<3)
            part[3, 1, 2] = -2
            // Row-major lines run along k through (i, j); column-major ones along i through (j, k).
            var line = part.mutableLine(columnMajor ? 1 : 3, columnMajor ? 2 : 1)
            #expect(line.count == 2)
            line[0] = -3
        }
        #expect(grid[0, 0, 0] == -1 && grid[3, 1, 2] == -2)
        #expect(columnMajor ? grid[2, 1, 2] == -3 : grid[3, 1, 1] == -3)
    }

    // MARK: allocators

    @Test("grids from the system heap, an arena and a debug allocator free their storage when they end")
    func allocators() throws {
        // An arena: a grid still alive at the end of the arena's scope would trap.
        try ScopedAllocator.withScope(chunkByteCount: 4096) { arena in
            do {
                var grid = try Grid<Double>(extents: [16, 9], padding: .bytes(128), allocator: arena)
                #expect(arena.statistics.liveAllocations == 1)
                #expect(arena.statistics.liveBytes == grid.layout.byteCount)
                #expect(UInt(bitPattern: grid.buffer.unsafeBaseAddress) % 128 == 0)
                grid[15, 8] = 1
                #expect(grid.buffer.backing.backend == .scoped)
            }
            #expect(arena.statistics.liveAllocations == 0)
        }
        // A debug allocator: the live grid is tracked at its call site, gone when the grid ends.
        let log = CapturedLog()
        let debug = DebugMemoryAllocator("Grids", wrapping: SystemMemoryAllocator(), onLeak: .log, logger: log.logger)
        do {
            var grid = try Grid<Float>(extents: [10, 13], allocator: debug)
            let line = #line - 1
            let leaks = debug.leakReport.leaks
            #expect(leaks.count == 1)
            #expect(leaks.first?.elementCount == grid.layout.count && leaks.first?.elementType == "Float")
            #expect(leaks.first?.site.line == UInt(line))
            grid[9, 12] = 1
        }
        #expect(debug.leakReport.leaks.isEmpty)
        // A buffer taken out of a grid is the same allocation, still tracked until freed.
        let taken: UnmanagedBuffer<Float>
        do {
            let grid = try Grid<Float>(extents: [4, 4], allocator: debug)
            taken = grid.takeBuffer()
        }
        #expect(debug.leakReport.leaks.map(\.elementCount) == [64])
        taken.free()
        #expect(debug.leakReport.leaks.isEmpty)
        #expect(debug.statistics.liveAllocations == 0 && debug.statistics.totalAllocations == 2)
        #expect(log.messages.withLock { $0.isEmpty })
    }

    @Test("a buffer taken out of a grid and kept past its debug allocator is reported as a leak at the grid's call site")
    func takenBufferLeaks() throws {
        let log = CapturedLog()
        let kept: UnmanagedBuffer<UInt16>
        let line: Int
        do {
            let debug = DebugMemoryAllocator("Leaky", wrapping: SystemMemoryAllocator(), onLeak: .log, logger: log.logger)
            let grid = try Grid<UInt16>(extents: [3, 3], allocator: debug)
            line = #line - 1
            kept = grid.takeBuffer()
        }
        let messages = log.messages.withLock { $0 }
        #expect(messages.count == 1)
        #expect(messages.first?.contains("Leaky: 1 leaked buffer(s), 192 B") == true, "\(messages)")
        #expect(messages.first?.contains("GridTests.swift:\(line)") == true, "\(messages)")
        kept.free()
    }

    @Test("a user's struct (Complex<Double>, a TrivialElement) in a grid made from a flat buffer")
    func complexElements() throws {
        let layout = try Grid<Complex<Double>>.Layout([5, 3], order: .columnMajor)
        #expect(layout.leadingDimension == 8)  // columns of 5 × 16 B padded to 128 B
        let flat = try system.allocate(Complex<Double>.self, count: layout.count)
        var grid = try Grid(flat, layout: layout)
        for i in 0..<5 { for j in 0..<3 { grid[i, j] = Complex(Double(i), Double(j)) } }
        let column = grid.view.line(2)
        #expect(column.count == 5)
        for i in 0..<5 { #expect(column[i] == Complex(Double(i), 2)) }
        #expect(grid.buffer[1 * 8 + 4] == Complex(4, 1))

        let rgbLayout = try Grid<Rgb24>.Layout([2, 3, 5])
        var rgb = try Grid(try system.allocate(Rgb24.self, count: rgbLayout.count, zeroed: true), layout: rgbLayout)
        rgb[1, 2, 4] = Rgb24(r: 1, g: 2, b: 3)
        #expect(rgb.buffer[1 * rgbLayout.strides[0] + 2 * rgbLayout.strides[1] + 4] == Rgb24(r: 1, g: 2, b: 3))
        #expect(rgbLayout.leadingDimension * 24 % 64 == 0)
    }

    // MARK: bad input

    @Test("zero or negative extents, ranks other than 2 and 3: invalidArgument naming the extents")
    func badExtents() {
        for (extents, parts) in [
            ([0, 5], ["[0, 5]", "extent 0 of dimension 0"]), ([3, -1], ["[3, -1]", "extent -1 of dimension 1"]),
            ([2, 3, 0], ["extent 0 of dimension 2"]), ([Int.min, 2], ["extent \(Int.min)"]),
            ([5], ["[5]", "rank 1"]), ([1, 2, 3, 4], ["[1, 2, 3, 4]", "rank 4"]), ([], ["[]", "rank 0"]),
        ] as [([Int], [String])] {
            for order in [Grid<Double>.Order.rowMajor, .columnMajor] {
                let error = layoutError(Double.self, extents, order: order)
                guard case .invalidArgument(let message)? = error else {
                    Issue.record("\(extents): \(String(describing: error))"); continue
                }
                for part in parts { #expect(message.contains(part), "\(extents): \(message)") }
            }
        }
    }

    @Test("paddings that are not a power of two or are below the element's stride: invalidArgument naming the padding")
    func badPadding() {
        for bytes in [0, -64, 48, 100, Int.min, Int.max] {
            let error = layoutError(Double.self, [3, 3], padding: .bytes(bytes))
            guard case .invalidArgument(let message)? = error else {
                Issue.record(".bytes(\(bytes)): \(String(describing: error))"); continue
            }
            #expect(message.contains("\(bytes) B"), "\(message)")
        }
        let small = layoutError(Rgb24.self, [3, 3], padding: .bytes(16))
        guard case .invalidArgument(let message)? = small else { Issue.record("\(String(describing: small))"); return }
        #expect(message.contains("16 B") && message.contains("stride 24 B"), "\(message)")
        #expect(layoutError(Double.self, [3, 3], padding: .bytes(4)) != nil)
        #expect(layoutError(Double.self, [3, 3], padding: .bytes(8)) == nil)
    }

    @Test("shapes whose padded element count or byte size overflows Int: sizeOverflow naming the extents")
    func overflowingShapes() {
        for (extents, order, padding) in [
            ([Int.max / 2, 3], Grid<Double>.Order.rowMajor, Grid<Double>.Padding.cacheLine),
            ([3, Int.max / 2], .columnMajor, .none),
            ([2, Int.max], .rowMajor, .cacheLine),  // rounding the line up overflows
            ([Int.max - 1, 1], .columnMajor, .cacheLine),
            ([1 << 20, 1 << 20, 1 << 24], .rowMajor, .none),
            ([1, Int.max / 4], .rowMajor, .none),  // the count fits; its bytes do not
            ([9, Int.max / 64], .rowMajor, .bytes(1 << 40)),  // lines of 2^57 elements, 9 × 2^60 B
        ] {
            let error = layoutError(Double.self, extents, order: order, padding: padding)
            guard case .sizeOverflow(_, let stride, _)? = error else {
                Issue.record("\(extents): \(String(describing: error))"); continue
            }
            #expect(stride == 8)
            expectMessage(error, contains: ["\(extents)"])
        }
    }

    @Test("allocating a grid of a bad shape throws the allocator's error for it and allocates nothing")
    func badShapeAllocatesNothing() throws {
        let debug = DebugMemoryAllocator("Refused", wrapping: SystemMemoryAllocator(), onLeak: .log, logger: CapturedLog().logger)
        for extents in [[0, 3], [4], [Int.max / 2, 3]] {
            let error = thrown { () throws(AllocationError) in _ = try Grid<Double>(extents: extents, allocator: debug) }
            #expect(error == layoutError(Double.self, extents))
        }
        let padding = thrown { () throws(AllocationError) in
            _ = try Grid<Double>(extents: [3, 3], padding: .bytes(24), allocator: debug)
        }
        guard case .invalidArgument? = padding else { Issue.record("\(String(describing: padding))"); return }
        // An alignment the allocator refuses: its own typed error.
        let alignment = thrown { () throws(AllocationError) in
            _ = try Grid<Double>(extents: [3, 3], alignment: 24, allocator: debug)
        }
        guard case .invalidAlignment(24, _, _, _)? = alignment else { Issue.record("\(String(describing: alignment))"); return }
        #expect(debug.statistics.totalAllocations == 0)
        #expect(debug.leakReport.leaks.isEmpty)
    }

    @Test("a flat buffer whose count is not the layout's: countMismatch naming both counts, and the buffer is released")
    func countMismatch() throws {
        let debug = DebugMemoryAllocator("Mismatch", wrapping: SystemMemoryAllocator(), onLeak: .log, logger: CapturedLog().logger)
        let layout = try Grid<Double>.Layout([3, 5])  // 24 elements with padding
        for count in [0, 15, 23, 25] {
            let buffer = try debug.allocate(Double.self, count: count)
            var refused: AllocationError? = nil
            do throws(AllocationError) {
                _ = try Grid(buffer, layout: layout)
                Issue.record("count \(count) did not throw")
            } catch {
                refused = error
            }
            #expect(refused == .countMismatch(destination: 24, source: count))
            expectMessage(refused, contains: ["\(count)", "24"])
            #expect(debug.leakReport.leaks.isEmpty, "count \(count): the refused buffer was released")
        }
    }
}

// MARK: helpers

private func layoutError<T>(
    _: T.Type, _ extents: [Int], order: Grid<T>.Order = .rowMajor, padding: Grid<T>.Padding = .cacheLine
) -> AllocationError? {
    do {
        _ = try Grid<T>.Layout(extents, order: order, padding: padding)
        return nil
    } catch {
        return error
    }
}

/// What `body` threw (nil, with an issue recorded, when it did not).
private func thrown<E: Error>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws(E) -> Void) -> E? {
    do throws(E) {
        try body()
    } catch {
        return error
    }
    Issue.record("did not throw", sourceLocation: sourceLocation)
    return nil
}

/// Records an issue unless the error's message contains every part.
private func expectMessage(
    _ error: (any Error)?, contains parts: [String], sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let error else { return }
    let text = String(describing: error)
    for part in parts where !text.contains(part) {
        Issue.record("message \"\(text)\" does not contain \"\(part)\"", sourceLocation: sourceLocation)
    }
}
