// Issue 12: a member's MutableSpan of its part cannot leave the forEachChunk call — kept outside
// (here in a Mutex, the safe way to share state with the members), it would outlive the call and
// let the caller write the part after the members moved on. MutableSpan is non-escapable.
//
// EXPECT-ERROR: error: type 'MutableSpan<Double>' does not conform to protocol 'Escapable'
import Synchronization
import ZiggyMmap

func escapePart() throws {
    let team = try Team()
    var a = try team.allocate(Double.self, count: 1 << 16)
    let kept = Mutex<MutableSpan<Double>?>(nil)
    team.forEachChunk(of: &a) { _, _, part in kept.withLock { $0 = part } }
}
