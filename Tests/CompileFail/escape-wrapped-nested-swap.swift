// Issue 9, defect 1: two views from nested withWrapping calls cannot be swapped either (the view
// is ~Escapable, and swap needs Escapable values), so the inner span's memory cannot leak out
// through the outer view.
//
// EXPECT-ERROR: error: .*conform to 'Escapable'
import ZiggyAlloc

func nested() {
    var first = [1, 2, 3]
    var second = [4, 5, 6]
    var outerSpan = first.mutableSpan
    var innerSpan = second.mutableSpan
    UnmanagedBuffer.withWrapping(&outerSpan) { outer in
        UnmanagedBuffer.withWrapping(&innerSpan) { inner in swap(&outer, &inner) }
    }
}
