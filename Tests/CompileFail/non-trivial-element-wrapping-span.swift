// The element rule on the wrapping forms (issue 20, item 3): the MutableSpan form of withWrapping
// rejects String at compile time too (before the fix: compiled, then trapped at run time).
//
// EXPECT-ERROR: (error|note): .*(BitwiseCopyable|TrivialElement)
// RUN-IF-IT-COMPILES: the trap it gives instead
import ZiggyAlloc

func firstString(_ strings: inout [String]) -> String {
    var span = strings.mutableSpan
    return UnmanagedBuffer.withWrapping(&span) { wrapped in wrapped[0] }
}

var strings = ["a", "b"]
print(firstString(&strings))
