// Issue 9, defect 11: ThreadPinning.withCurrentThread both throws and returns a Result, so a
// caller must unwrap twice. One error channel: `try` gives the body's value. This must compile.
// (If the redesign keeps a Result and drops `throws` instead, replace this check accordingly.)
//
// EXPECT-COMPILES
import ZiggyMmap

func answer() throws -> Int {
    let value: Int = try ThreadPinning.withCurrentThread(pinnedTo: 0) { 42 }
    return value
}
