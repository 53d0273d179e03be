import Testing
import ZiggyMmap

/// What the DocC article "Grids and stencils" shows and promises, checked on the host.
@Suite("Grids as the article shows them")
struct GridArticleTests {
    @Test("an index outside a grid's extents traps naming the indices and the extents")
    func gridIndexTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var grid = try Grid<Double>(extents: [3, 4], allocator: SystemMemoryAllocator())
            grid[3, 0] = 1
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("Grid index [3, 0] out of range for indices 0..<3 × 0..<4"), "\(text)")
    }

    @Test("a member's view admits only its own block: an index in a neighbour's block traps")
    func blockIndexTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let team = try Team(threads: 2, oversubscribe: true)
            var grid = try team.allocate(Double.self, extents: [64, 512], padding: .bytes(4096))
            team.forEachBlock(of: &grid) { member, block, view in
                // Member 0 (rows 0..<32) writes one row past its block: member 1's first row.
                if member.index == 0 { view[block.indices.upperBound, 0] = 1 }
            }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("Grid index [32, 0] out of range for indices 0..<32 × 0..<512"), "\(text)")
    }

    @Test("the article's dgemm sketch passes each grid's leading dimension: padded rows multiply correctly")
    func dgemmLeadingDimension() throws {
        let allocator = SystemMemoryAllocator()
        // 5 × 3 times 3 × 7: every row padded (to 8 elements), so a wrong lda reads padding.
        var a = try Grid<Double>(extents: [5, 3], allocator: allocator)
        var b = try Grid<Double>(extents: [3, 7], allocator: allocator)
        var c = try Grid<Double>(extents: [5, 7], zeroed: true, allocator: allocator)
        #expect(a.layout.leadingDimension == 8 && b.layout.leadingDimension == 8)
        a.withUnsafeMutableBufferPointer { $0.initialize(repeating: .nan) }
        b.withUnsafeMutableBufferPointer { $0.initialize(repeating: .nan) }
        for i in 0..<5 { for p in 0..<3 { a[i, p] = Double(i * 3 + p) } }
        for p in 0..<3 { for j in 0..<7 { b[p, j] = Double(p - j) } }
        multiply(a, b, into: &c)
        for i in 0..<5 {
            for j in 0..<7 {
                let expected = (0..<3).reduce(0.0) { $0 + Double(i * 3 + $1) * Double($1 - j) }
                #expect(c[i, j] == expected, "c[\(i), \(j)]")
            }
        }
    }
}

// The article's sketch, verbatim but for the import: CBLAS is replaced by a reference dgemm of
// the signature OpenBLAS's cblas.h gives Swift (row-major only).

/// C = A × B for row-major grids (A is m × k, B is k × n, C is m × n), lines padded as they are.
func multiply(_ a: borrowing Grid<Double>, _ b: borrowing Grid<Double>, into c: inout Grid<Double>) {
    let (m, k, n) = (a.layout.extents[0], a.layout.extents[1], b.layout.extents[1])
    precondition([a.layout.order, b.layout.order, c.layout.order] == [.rowMajor, .rowMajor, .rowMajor])
    precondition(b.layout.extents[0] == k && c.layout.extents == [m, n], "the shapes do not match")
    let lda = Int32(a.layout.leadingDimension)
    let ldb = Int32(b.layout.leadingDimension)
    let ldc = Int32(c.layout.leadingDimension)
    a.buffer.withUnsafeBufferPointer { a in
        b.buffer.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                cblas_dgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a.baseAddress, lda, b.baseAddress, ldb, 0, c.baseAddress, ldc)
            }
        }
    }
}

private struct CBLASOrder: Equatable { let rawValue: UInt32 }
private struct CBLASTranspose: Equatable { let rawValue: UInt32 }
private let CblasRowMajor = CBLASOrder(rawValue: 101)
private let CblasNoTrans = CBLASTranspose(rawValue: 111)

private func cblas_dgemm(
    _ order: CBLASOrder, _ transA: CBLASTranspose, _ transB: CBLASTranspose, _ m: Int32, _ n: Int32, _ k: Int32,
    _ alpha: Double, _ a: UnsafePointer<Double>!, _ lda: Int32, _ b: UnsafePointer<Double>!, _ ldb: Int32,
    _ beta: Double, _ c: UnsafeMutablePointer<Double>!, _ ldc: Int32
) {
    precondition(order == CblasRowMajor && transA == CblasNoTrans && transB == CblasNoTrans)
    let (m, n, k, lda, ldb, ldc) = (Int(m), Int(n), Int(k), Int(lda), Int(ldb), Int(ldc))
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k { sum += a[i * lda + p] * b[p * ldb + j] }
            c[i * ldc + j] = alpha * sum + beta * c[i * ldc + j]
        }
    }
}
