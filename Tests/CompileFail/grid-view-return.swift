// Issue 23: a grid's view cannot be returned past the grid it views — here the grid is freed when
// the function returns, and the view would read freed memory. Grid.View is non-escapable, and a
// client cannot spell a lifetime dependence without the experimental Lifetimes feature.
//
// EXPECT-ERROR: error: a function cannot return a ~Escapable result
import ZiggyAlloc

func danglingView() throws -> Grid<Double>.View {
    let grid = try Grid<Double>(extents: [4, 4], allocator: SystemMemoryAllocator())
    return grid.view
}
