// Jacobi sweeps through the grid API against the same loops in C, over the same memory: a 2-D
// 5-point and a 3-D 7-point stencil, at one thread (the grid's subscripts and its views in a
// function) and at every allowed CPU (a library Team's blocks: `forEachBlock` with halo views for
// Swift, the C kernel called per block of the same team for C). The question is the grid's code —
// its bounds-checked subscripts and views — so every contender sweeps the same two grids, allocated
// once by the team (each block on its member's node, first touched by it).
import CZiggyReferences
import CZiggyShims
import ZiggyMmap

/// A stencil of the `stencil` workload.
enum StencilShape: String, CaseIterable {
    case twoD = "stencil-2d"
    case threeD = "stencil-3d"

    var rank: Int { self == .twoD ? 2 : 3 }
}

/// How a sweep reaches the grids: the C kernel (the reference), then the ways users write it.
enum StencilVariant: String {
    /// `zr_jacobi2d_rows` / `zr_jacobi3d_planes` over the grids' pointers (one call, or one per block).
    case c = "c-kernel"
    /// `out[i, j] = …` on the grids themselves, in a function taking `inout` and `borrowing` grids.
    case subscripts = "grid[i, j]"
    /// The same loop through `out.mutableView` and `input.view`.
    case views = "grid views"
    /// `team.forEachBlock(of: &out, reading: input, halo: 1)`, the loop through the block's views.
    case team = "team views"
}

extension Runner {
    /// Every stencil at each size of `stencilSides2D` / `stencilSides3D` (an in-cache grid and one
    /// far beyond), 1 thread then every allowed CPU, round-robin within each thread count. A sample
    /// repeats the sweep until it lasts about `minSampleSeconds`; GB/s counts 16 bytes per
    /// interior point (its value read once and its result written once, as access-stencil does).
    func stencil() {
        let threads = teamCPUs.count
        guard let team = libraryTeam(threads) else { return }
        for shape in StencilShape.allCases {
            for side in shape == .twoD ? config.stencilSides2D : config.stencilSides3D {
                let extents = Array(repeating: side, count: shape.rank)
                let bytes = extents.reduce(8, *)
                let grids: StencilGrids
                do {
                    grids = try StencilGrids(team, extents: extents)
                } catch {
                    rows.append(
                        .unavailable(
                            StencilVariant.c.rawValue, shape.rawValue, bytes: bytes, threads: 1, unit: .gigabytesPerSecond,
                            reason: "could not allocate 2 grids of \(extents.map(String.init).joined(separator: " × ")): \(error)"))
                    continue
                }
                let moved = Double(16 * extents.map { $0 - 2 }.reduce(1, *))
                let shapes = extents.map(String.init).joined(separator: "×")
                for (members, variants) in [(1, [StencilVariant.c, .subscripts, .views]), (threads, [.c, .team])]
                where members == 1 || threads > 1 {
                    let expected = grids.checksum(shape, .c, members: members)
                    let repeats = calibrate { n in _ = grids.run(shape, .c, members: members, repeats: n) }
                    let contenders = variants.map { variant in
                        // The sweep must compute what C computes (the same sums in the same order).
                        let got = variant == .c ? expected : grids.checksum(shape, variant, members: members)
                        let contender = Contender(
                            variant.rawValue, bytes: bytes, threads: members, unit: .gigabytesPerSecond,
                            note: Self.stencilNote(variant, shapes, members),
                            unavailable: got == expected ? nil : "wrong result: checksum \(got), C's \(expected)"
                        ) {
                            moved * Double(repeats) / grids.run(shape, variant, members: members, repeats: repeats) / 1e9
                        }
                        contender.pageSize = "base 4 KiB"
                        return contender
                    }
                    measure(shape.rawValue, contenders)
                }
            }
        }
    }

    private static func stencilNote(_ variant: StencilVariant, _ shapes: String, _ members: Int) -> String {
        switch variant {
        case .c where members == 1: return "C loop over the grids' pointers (\(shapes), padded rows), -O3 -march=native"
        case .c: return "the C loop per block on the same Team (forEachBlock), same memory"
        case .subscripts: return "out[i, j] = … on inout/borrowing Grid<Double>, same memory"
        case .views: return "the same loop through mutableView / view, same memory"
        case .team: return "forEachBlock(of: &out, reading: input, halo: 1), the loop through the block's views"
        }
    }
}

/// The two grids every stencil contender sweeps (`out` from `input`), allocated by the team.
final class StencilGrids {
    var out: Grid<Double>
    var input: Grid<Double>
    let team: Team

    init(_ team: Team, extents: [Int]) throws {
        // Into locals first (see AccessBuffers).
        let out = try team.allocate(Double.self, extents: extents)
        var input = try team.allocate(Double.self, extents: extents)
        input.withUnsafeMutableBufferPointer { all in
            // Values that differ between neighbours (and padding that would show if read).
            for index in all.indices { all[index] = Double(index % 17) / 16 }
        }
        self.out = out
        self.input = input
        self.team = team
    }

    /// Seconds for `repeats` sweeps of `shape` through `variant` with `members` threads.
    func run(_ shape: StencilShape, _ variant: StencilVariant, members: Int, repeats: Int) -> Double {
        let start = now()
        for _ in 0..<repeats {
            sweep(shape, variant, members: members)
            zg_compiler_barrier()
        }
        return now() - start
    }

    /// The sum of `out` after one sweep through `variant` into a cleared `out`.
    func checksum(_ shape: StencilShape, _ variant: StencilVariant, members: Int) -> Double {
        out.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        sweep(shape, variant, members: members)
        return out.withUnsafeMutableBufferPointer { $0.reduce(0, +) }
    }

    private func sweep(_ shape: StencilShape, _ variant: StencilVariant, members: Int) {
        switch (variant, shape) {
        case (.c, _) where members == 1:
            cSweep(shape, slabs: 0..<input.layout.extents[0])
        case (.c, _):
            // The C kernel on the same team, block by block: the same threads, blocks and
            // fork-join as the Swift rows, only the loop differs.
            let pointers = StencilPointers(self)
            let layout = input.layout
            team.forEachBlock(of: &out) { _, block, _ in pointers.sweep(shape, layout, slabs: block.indices) }
        case (.subscripts, .twoD): jacobi2D(&out, input)
        case (.subscripts, .threeD): jacobi3D(&out, input)
        case (.views, .twoD): jacobi2DViews(&out, input)
        case (.views, .threeD): jacobi3DViews(&out, input)
        case (.team, .twoD): try? jacobi2DTeam(team, &out, input)
        case (.team, .threeD): try? jacobi3DTeam(team, &out, input)
        }
    }

    private func cSweep(_ shape: StencilShape, slabs: Range<Int>) {
        StencilPointers(self).sweep(shape, input.layout, slabs: slabs)
    }
}

/// The grids' storage as the C kernels take it, sendable into a team region (the region's
/// `forEachBlock` holds `out` exclusively meanwhile; only C writes through the pointer).
struct StencilPointers: @unchecked Sendable {
    let out: UnsafeMutablePointer<Double>
    let input: UnsafePointer<Double>

    init(_ grids: StencilGrids) {
        out = grids.out.withUnsafeMutableBufferPointer { $0.baseAddress! }
        input = UnsafePointer(grids.input.buffer.unsafeBaseAddress)
    }

    /// The C kernel over the interior points of the rows (planes) `slabs`.
    func sweep(_ shape: StencilShape, _ layout: Grid<Double>.Layout, slabs: Range<Int>) {
        let e = layout.extents
        switch shape {
        case .twoD:
            zr_jacobi2d_rows(out, input, layout.leadingDimension, e[0], e[1], slabs.lowerBound, slabs.upperBound)
        case .threeD:
            zr_jacobi3d_planes(
                out, input, layout.strides[0], layout.leadingDimension, e[0], e[1], e[2], slabs.lowerBound, slabs.upperBound)
        }
    }
}

// MARK: the sweeps as users write them with the grid API (nothing tuned: that is the point)

@inline(never)
func jacobi2D(_ out: inout Grid<Double>, _ input: borrowing Grid<Double>) {
    let rows = input.layout.extents[0], cols = input.layout.extents[1]
    for i in 1..<rows - 1 {
        for j in 1..<cols - 1 {
            out[i, j] = 0.25 * (input[i - 1, j] + input[i + 1, j] + input[i, j - 1] + input[i, j + 1])
        }
    }
}

@inline(never)
func jacobi3D(_ out: inout Grid<Double>, _ input: borrowing Grid<Double>) {
    let n = input.layout.extents
    let sixth = 1.0 / 6.0
    for i in 1..<n[0] - 1 {
        for j in 1..<n[1] - 1 {
            for k in 1..<n[2] - 1 {
                out[i, j, k] =
                    sixth
                    * (input[i - 1, j, k] + input[i + 1, j, k] + input[i, j - 1, k] + input[i, j + 1, k]
                        + input[i, j, k - 1] + input[i, j, k + 1])
            }
        }
    }
}

@inline(never)
func jacobi2DViews(_ out: inout Grid<Double>, _ input: borrowing Grid<Double>) {
    let extents = input.layout.extents
    var target = out.mutableView
    jacobi2DBlock(&target, input.view, rows: 0..<extents[0], extents: extents)
}

@inline(never)
func jacobi3DViews(_ out: inout Grid<Double>, _ input: borrowing Grid<Double>) {
    let extents = input.layout.extents
    var target = out.mutableView
    jacobi3DBlock(&target, input.view, planes: 0..<extents[0], extents: extents)
}

@inline(never)
func jacobi2DTeam(_ team: Team, _ out: inout Grid<Double>, _ input: borrowing Grid<Double>) throws(MmapError) {
    let extents = input.layout.extents
    try team.forEachBlock(of: &out, reading: input, halo: 1) { _, block, out, input in
        jacobi2DBlock(&out, input, rows: block.indices, extents: extents)
    }
}

@inline(never)
func jacobi3DTeam(_ team: Team, _ out: inout Grid<Double>, _ input: borrowing Grid<Double>) throws(MmapError) {
    let extents = input.layout.extents
    try team.forEachBlock(of: &out, reading: input, halo: 1) { _, block, out, input in
        jacobi3DBlock(&out, input, planes: block.indices, extents: extents)
    }
}

/// The interior points of `rows` (the grid's own row indices: a block's, or all of them) of a
/// grid of `extents`, through the views — the body a team member runs on its block, and the
/// 1-thread sweep over the whole grid.
@inline(__always)
func jacobi2DBlock(_ out: inout Grid<Double>.MutableView, _ input: Grid<Double>.View, rows: Range<Int>, extents: [Int]) {
    let cols = extents[1]
    for i in max(rows.lowerBound, 1)..<min(rows.upperBound, extents[0] - 1) {
        for j in 1..<cols - 1 {
            out[i, j] = 0.25 * (input[i - 1, j] + input[i + 1, j] + input[i, j - 1] + input[i, j + 1])
        }
    }
}

@inline(__always)
func jacobi3DBlock(_ out: inout Grid<Double>.MutableView, _ input: Grid<Double>.View, planes: Range<Int>, extents: [Int]) {
    let (n1, n2) = (extents[1], extents[2])
    let sixth = 1.0 / 6.0
    for i in max(planes.lowerBound, 1)..<min(planes.upperBound, extents[0] - 1) {
        for j in 1..<n1 - 1 {
            for k in 1..<n2 - 1 {
                out[i, j, k] =
                    sixth
                    * (input[i - 1, j, k] + input[i + 1, j, k] + input[i, j - 1, k] + input[i, j + 1, k]
                        + input[i, j, k - 1] + input[i, j, k + 1])
            }
        }
    }
}
