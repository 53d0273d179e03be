// The element rule on the wrapping forms (issue 20, item 3): viewing an array of a type that is
// neither BitwiseCopyable nor a TrivialElement (String holds a reference) through withWrapping is a
// compile error — before the fix it compiled in safe code and trapped at run time ("Fatal error:
// UnmanagedBuffer: String is not trivially copyable", SIGILL).
//
// EXPECT-ERROR: (error|note): .*(BitwiseCopyable|TrivialElement)
// RUN-IF-IT-COMPILES: the trap it gives instead
import ZiggyAlloc

var strings = ["a", "b"]
UnmanagedBuffer<String>.withWrapping(&strings) { wrapped in wrapped[0] = "c" }
print(strings)
