// Issue 23: the grid's pointer accessor (for BLAS, LAPACK, FFTW) is flagged by strict memory
// safety like the buffer's: the pointer can outlive the closure, so a client must write `unsafe`.
//
// EXPECT-WARNING: expression uses unsafe constructs but is not marked with 'unsafe'
import ZiggyAlloc

func pointer() throws {
    var grid = try Grid<Double>(extents: [4, 4], allocator: SystemMemoryAllocator())
    grid.withUnsafeMutableBufferPointer { $0[0] = 1 }
}
