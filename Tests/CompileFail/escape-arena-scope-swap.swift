// Ownership: the arena withScope lends is borrowed, so it cannot be swapped out of the closure
// (its chunks are freed when withScope returns).
//
// EXPECT-ERROR: error: .*(immutable|borrow|let)
import ZiggyAlloc

func arena() {
    var outer = ScopedAllocator()
    ScopedAllocator.withScope { arena in swap(&outer, &arena) }
}
