/// The geometry of a padded grid: `rows` × `cols` cells, each row `pitch` elements apart.
///
/// Rows are padded to whole cache lines so every row starts on a 64-byte boundary (no row's
/// first load straddles two lines). The row count is rounded up so that the grid is a whole number
/// of *row blocks* per team member, a row block being the smallest run of rows that ends on a page
/// boundary: the team's schedule cuts the buffer on page boundaries, evenly by member, so its cuts
/// then fall between rows and no row is split between two members (or two nodes).
struct GridShape: Sendable, CustomStringConvertible {
    let rows: Int
    let cols: Int
    let pitch: Int
    /// Rows in one row block (rows × pitch × 8 B is a multiple of the page size).
    let rowsPerBlock: Int

    static let cacheLine = 64

    init(size: Int, members: Int, pageBytes: Int) {
        let perLine = Self.cacheLine / MemoryLayout<Double>.stride
        cols = size
        pitch = (size + perLine - 1) / perLine * perLine
        let rowBytes = pitch * MemoryLayout<Double>.stride
        rowsPerBlock = lcm(rowBytes, pageBytes) / rowBytes
        let unit = rowsPerBlock * max(members, 1)
        rows = (max(size, 3) + unit - 1) / unit * unit
    }

    var count: Int { rows * pitch }
    var byteCount: Int { count * MemoryLayout<Double>.stride }

    var description: String {
        "\(rows) × \(cols) cells, rows padded to \(pitch) doubles (\(pitch * 8) B), "
            + "\(rowsPerBlock) row(s) per page-aligned block, \(byteCount) B per grid"
    }
}

func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
func lcm(_ a: Int, _ b: Int) -> Int { a / gcd(a, b) * b }
