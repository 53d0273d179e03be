// Issue 23: a member's view of its block cannot leave the forEachBlock call — kept outside (here
// in a Mutex, the safe way to share state with the members), it would outlive the call and let
// the caller write the block after the members moved on, or after the grid is freed.
// Grid.MutableView is non-escapable.
//
// EXPECT-ERROR: error: type 'Grid<Double>.MutableView' does not conform to protocol 'Escapable'
import Synchronization
import ZiggyMmap

func escapeBlock() throws {
    let team = try Team()
    var grid = try team.allocate(Double.self, extents: [64, 512])
    let kept = Mutex<Grid<Double>.MutableView?>(nil)
    team.forEachBlock(of: &grid) { _, _, view in kept.withLock { $0 = view } }
}
