// The element rule: a type that is neither BitwiseCopyable nor a TrivialElement (here String,
// which holds a reference) cannot be allocated at all — a compile error, not memory corruption. The
// diagnostic names the missing conformance in an error, or in the notes on the candidates when
// several overloads are tried (SystemMemoryAllocator restates the typed calls for static dispatch).
//
// EXPECT-ERROR: (error|note): .*(BitwiseCopyable|TrivialElement)
import ZiggyAlloc

func strings() throws {
    _ = try SystemMemoryAllocator().allocate(String.self, count: 4)
}
