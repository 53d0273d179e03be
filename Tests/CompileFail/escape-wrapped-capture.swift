// Issue 9, defect 1: the view cannot be captured by an escaping closure that outlives the call.
//
// EXPECT-ERROR: error: .*(escap|Escapable|capture|lifetime)
import ZiggyAlloc

func capture() -> (() -> Int)? {
    var later: (() -> Int)?
    var storage = [1, 2, 3]
    var span = storage.mutableSpan
    UnmanagedBuffer.withWrapping(&span) { wrapped in
        later = { wrapped[0] }
    }
    return later
}
