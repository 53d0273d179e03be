// 1.0: the allocator-implementation API (RawAllocation, AllocationRequest, BufferOwner,
// StatisticsRecorder, allocateRaw/resizeRaw, unsafeDetach) is SPI. A client that does not
// `@_spi(AllocatorImplementation) import ZiggyAlloc` does not see RawAllocation at all
// (replacement-allocateRaw.swift is what an allocator author writes).
//
// EXPECT-ERROR: error: cannot find type 'RawAllocation' in scope
import ZiggyMmap

func detach(_ buffer: consuming UnmanagedBuffer<Int>) -> RawAllocation {
    unsafe buffer.unsafeDetach()
}
