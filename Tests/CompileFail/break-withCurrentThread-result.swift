// Intended break (CHANGELOG 0.2.0, then 1.0): ThreadPinning.withCurrentThread returned a Result
// until 0.2.0, the body's value in 0.2.0, and ThreadPinning left the public API in 1.0: one
// thread on a node is `Team(perNode: 1, nodes: [node]).run { member in … }`.
//
// EXPECT-ERROR: error: .*ThreadPinning
import ZiggyMmap

func old() throws {
    let result: Result<Int, Never> = try ThreadPinning.withCurrentThread(pinnedTo: 0) { 42 }
    _ = result
}
