// Issue 12: a member cannot reach outside its part through the buffer itself — the closure is
// @Sendable, and a noncopyable buffer captured by it (to write another member's elements) is
// rejected: the only way in is the part's MutableSpan.
//
// EXPECT-ERROR: error: mutation of captured var 'b' in concurrently-executing code
import ZiggyMmap

func writeOthersPart() throws {
    let team = try Team()
    var a = try team.allocate(Double.self, count: 1 << 16)
    var b = try team.allocate(Double.self, count: 1 << 16)
    team.forEachChunk(of: &a) { _, range, part in
        b[0] = 1          // every member writing the same element of another buffer: a race
        part[0] = 1
    }
    _ = b.count
}
