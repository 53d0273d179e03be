// Intended break (CHANGELOG 0.2.0): ThreadPinning.withCurrentThread returns the body's value, not
// a Result (replacement: withCurrentThread-returns-value.swift).
//
// EXPECT-ERROR: error: .*Result
import ZiggyMmap

func old() throws {
    let result: Result<Int, Never> = try ThreadPinning.withCurrentThread(pinnedTo: 0) { 42 }
    _ = result
}
