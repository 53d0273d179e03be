import ZiggyMmap

// A Gaussian blur as two passes of the binomial kernel [1 4 6 4 1] / 16 (σ ≈ 1): along rows into
// an intermediate grid, then along columns. Pixels are SIMD4<UInt8> (R, G, B, A): one grid element
// per pixel, so `image[y, x]` is pixel (x, y), a row is one line, a team's blocks and halos are
// whole rows of pixels, and the four channels are computed together as one vector. (A grid of
// UInt8 with four channels per pixel would make every horizontal neighbour ±4 elements away and
// every edge clamp a per-channel computation.)
//
// The arithmetic is exact integer arithmetic: a row pass sums to at most 16 × 255 = 4080 per
// channel (UInt16), a column pass to at most 16 × 4080 + 128 = 65408 (still UInt16), then rounds
// and divides by 256. Edges repeat the border pixel. The result is therefore exactly
// round(Σ w[dy] w[dx] p[y+dy, x+dx] / 256): what the naive 5 × 5 convolution computes, bitwise.

typealias Pixel = SIMD4<UInt8>
typealias Wide = SIMD4<UInt16>

/// The five taps along one direction, widened: 1, 4, 6, 4, 1.
@inline(__always)
func taps(_ a: Wide, _ b: Wide, _ c: Wide, _ d: Wide, _ e: Wide) -> Wide {
    (a &+ e) &+ (b &+ d) &* 4 &+ c &* 6
}

@inline(__always)
func wide(_ p: Pixel) -> Wide { Wide(truncatingIfNeeded: p) }

/// The row pass over `rows`: `out[y, x]` = the five taps of `image` row y around x (unscaled).
func blurRows(_ out: inout Grid<Wide>.MutableView, from image: Grid<Pixel>.View, rows: Range<Int>) {
    let width = image.indices(1).count
    for y in rows {
        let src = image.line(y)
        var dst = out.mutableLine(y)
        // One check per row that implies every per-pixel one below (the spans stay checked).
        precondition(src.count == width && dst.count == width)
        // Edges: neighbours beyond the border repeat it.
        let edge = min(2, width)
        for x in 0..<edge { dst[x] = clampedTaps(src, x) }
        for x in max(edge, width - 2)..<width { dst[x] = clampedTaps(src, x) }
        if width > 4 {
            for x in 2..<(width - 2) {
                dst[x] = taps(wide(src[x - 2]), wide(src[x - 1]), wide(src[x]), wide(src[x + 1]), wide(src[x + 2]))
            }
        }
    }
}

/// The five taps around `x` in `row`, the border pixel standing in for those beyond it.
@inline(__always)
func clampedTaps(_ row: Span<Pixel>, _ x: Int) -> Wide {
    let last = row.count - 1
    return taps(
        wide(row[min(max(x - 2, 0), last)]), wide(row[min(max(x - 1, 0), last)]), wide(row[x]),
        wide(row[min(x + 1, last)]), wide(row[min(x + 2, last)]))
}

/// The column pass over `rows`: `out[y, x]` = the five taps of `rows` y − 2 … y + 2 of `sums`
/// (rows beyond the border repeat it), rounded and divided by 256.
func blurColumns(_ out: inout Grid<Pixel>.MutableView, from sums: Grid<Wide>.View, rows: Range<Int>, height: Int) {
    let width = sums.indices(1).count
    for y in rows {
        let at = { (dy: Int) in min(max(y + dy, 0), height - 1) }
        let (r0, r1, r2, r3, r4) = (sums.line(at(-2)), sums.line(at(-1)), sums.line(y), sums.line(at(1)), sums.line(at(2)))
        var dst = out.mutableLine(y)
        precondition(
            dst.count == width && r0.count == width && r1.count == width && r2.count == width && r3.count == width
                && r4.count == width)
        for x in 0..<width {
            let sum = taps(r0[x], r1[x], r2[x], r3[x], r4[x]) &+ 128
            dst[x] = Pixel(truncatingIfNeeded: sum &>> 8)
        }
    }
}

/// Both passes by the team: each member blurs its block of rows — the row pass needs only its own
/// rows, the column pass its rows and two halo rows on each side from its neighbours' sums.
func blur(_ image: borrowing Grid<Pixel>, into out: inout Grid<Pixel>, sums: inout Grid<Wide>, team: Team) throws(MmapError) {
    try team.forEachBlock(of: &sums, reading: image) { _, block, sums, image in
        blurRows(&sums, from: image, rows: block.indices)
    }
    let height = image.layout.extents[0]
    try team.forEachBlock(of: &out, reading: sums, halo: 2) { _, block, out, sums in
        blurColumns(&out, from: sums, rows: block.indices, height: height)
    }
}

/// Both passes in the calling thread, through the same functions: the team's speed-up baseline.
func blurInOneThread(_ image: borrowing Grid<Pixel>, into out: inout Grid<Pixel>, sums: inout Grid<Wide>) {
    let height = image.layout.extents[0]
    var sumsView = sums.mutableView
    blurRows(&sumsView, from: image.view, rows: 0..<height)
    var outView = out.mutableView
    blurColumns(&outView, from: sums.view, rows: 0..<height, height: height)
}

/// The test image: gradients in red and green, a hash in blue (fine detail for the blur to
/// smooth), a pattern in alpha. A function of (x, y), so the naive version builds its own copy.
@inline(__always)
func testPixel(x: Int, y: Int, width: Int, height: Int) -> Pixel {
    let hash = (x &* 2_654_435_761 ^ y &* 40503) >> 7
    return Pixel(
        UInt8(x * 255 / max(width - 1, 1)), UInt8(y * 255 / max(height - 1, 1)), UInt8(truncatingIfNeeded: hash),
        UInt8(truncatingIfNeeded: x ^ y))
}

/// Paints the test image; each member its own rows.
func paint(_ image: inout Grid<Pixel>, team: Team) {
    let (height, width) = (image.layout.extents[0], image.layout.extents[1])
    team.forEachBlock(of: &image) { _, block, view in
        for y in block.indices {
            var row = view.mutableLine(y)
            for x in 0..<width { row[x] = testPixel(x: x, y: y, width: width, height: height) }
        }
    }
}

/// The reference: the 5 × 5 kernel w[dy] × w[dx] / 256 applied directly, channel by channel, on an
/// interleaved RGBA byte array (4 bytes per pixel), in one thread, in plain integers.
func naiveBlur(width: Int, height: Int) -> [UInt8] {
    var image = [UInt8](repeating: 0, count: width * height * 4)
    for y in 0..<height {
        for x in 0..<width {
            let p = testPixel(x: x, y: y, width: width, height: height)
            for c in 0..<4 { image[(y * width + x) * 4 + c] = p[c] }
        }
    }
    let w = [1, 4, 6, 4, 1]
    var out = [UInt8](repeating: 0, count: image.count)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<4 {
                var sum = 0
                for dy in -2...2 {
                    for dx in -2...2 {
                        let (yy, xx) = (min(max(y + dy, 0), height - 1), min(max(x + dx, 0), width - 1))
                        sum += w[dy + 2] * w[dx + 2] * Int(image[(yy * width + xx) * 4 + c])
                    }
                }
                out[(y * width + x) * 4 + c] = UInt8((sum + 128) / 256)
            }
        }
    }
    return out
}
