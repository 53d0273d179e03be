// Issue 9, defect 1: the view cannot be returned out of its closure (the closure's result must be
// Escapable).
//
// EXPECT-ERROR: error: .*(Escapable|escape)
import ZiggyAlloc

func leak() {
    var storage = [1, 2, 3]
    var span = storage.mutableSpan
    let view = UnmanagedBuffer.withWrapping(&span) { (wrapped: inout UnmanagedBuffer<Int>.Wrapped) -> UnmanagedBuffer<Int>.Wrapped in wrapped }
    _ = view
}
