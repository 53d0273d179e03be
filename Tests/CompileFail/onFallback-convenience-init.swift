// Issue 9, defect 11: `onFallback` is reachable only through MmapAllocator.Options (NumaAllocator's
// initializer takes it directly). This must compile.
//
// EXPECT-COMPILES
import ZiggyMmap

let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller, onFallback: { event in print(event) })
