// Issue 9, defect 1: the non-owning buffer that `UnmanagedBuffer.withWrapping` lends to its
// closure can be swapped out of the closure — no `unsafe` anywhere, no warning even with
// -strict-memory-safety — and written through after the memory it views is gone.
// The closure now gets a UnmanagedBuffer.Wrapped, a type of its own that an UnmanagedBuffer cannot be
// swapped with; the view's own escapes are the escape-wrapped-*.swift snippets.
//
// EXPECT-ERROR: error: cannot convert value of type 'UnmanagedBuffer<UInt64>.Wrapped'
// RUN-IF-IT-COMPILES: the program below shows the write-after-escape corrupting another array
// (no unsafe construct anywhere: it compiles without a single strict-memory-safety warning).
import ZiggyAlloc

func escapeAndCorrupt() {
    var escaped = UnmanagedBuffer<UInt64>()
    var victim = [UInt64](repeating: 0, count: 512)
    var span = victim.mutableSpan
    UnmanagedBuffer.withWrapping(&span) { swap(&escaped, &$0) }          // the escape
    victim = []                                                          // its memory is freed
    let unrelated = [UInt64](repeating: 0, count: 512)                   // malloc hands it out again
    for i in escaped.indices { escaped[i] = 0xDEAD_BEEF }                // write through the escaped buffer
    print("escaped buffer: \(escaped.count) elements, still usable after its closure and after its memory was freed")
    print("unrelated[0] = 0x\(String(unrelated[0], radix: 16)) (was 0)")
    if unrelated[0] == 0xDEAD_BEEF { print("CORRUPTED: a write through the escaped buffer changed an unrelated array") }
}
escapeAndCorrupt()
