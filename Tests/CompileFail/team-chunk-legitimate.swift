// Issue 12: what a team's user writes — a blocked buffer, first touch by its members, a Triad
// reading two buffers while writing a third, a reduction — compiles without one warning under
// strict memory safety: no `unsafe` is needed.
//
// EXPECT-COMPILES
import ZiggyMmap

func triad() throws {
    let team = try Team()
    var a = try team.allocate(Double.self, count: 1 << 16)
    var b = try team.allocate(Double.self, count: 1 << 16)
    var c = try team.allocate(Double.self, count: 1 << 16)
    team.forEachChunk(of: &b) { _, range, part in for i in 0..<part.count { part[i] = Double(range.lowerBound + i) } }
    team.forEachChunk(of: &c) { _, _, part in for i in 0..<part.count { part[i] = 1 } }
    team.forEachChunk(of: &a, reading: b, c) { _, range, part, b, c in
        for i in 0..<part.count { part[i] = b[range.lowerBound + i] + 3 * c[range.lowerBound + i] }
    }
    print(team.sum(a), try a.placement())
}
