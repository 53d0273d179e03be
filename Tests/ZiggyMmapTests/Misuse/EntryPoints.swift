// swift-format-ignore-file
// (Each case and its "// no hostile input" reason stay on one line: Tests/Misuse/entry_points.py reads them.)
// Every public entry point of ZiggyAlloc and ZiggyMmap that takes input — each function,
// initializer, subscript and method with at least one parameter in the modules' symbol graphs —
// named the way Tests/Misuse/check-entry-point-coverage names it: "Module Type.name(labels:)",
// with the parameter types or the generic constraint added where overloads share that name.
// The allocator-implementation API behind `@_spi(AllocatorImplementation)` (AllocationRequest,
// RawAllocation, BufferOwner, StatisticsRecorder, allocateRaw/resizeRaw, failure(forInvalidRequest:),
// BufferBacking's details) is public to allocator authors who import it, so it is listed too: the
// script dumps the graphs with --include-spi-symbols and counts SPI entry points like the others.
// Package and internal declarations (BufferDeallocator, MmapAllocator.Fallback.chain(for:),
// HugePageReservation.Pool.freePages, PageSize.Report.measure, NumaAllocator(blockedFor:), …) are
// not entry points; the suite still tests them through @testable import, without counting them.
//
// The script compares this list with `swift package dump-symbol-graph` (a new, renamed or removed
// entry point fails it) and with what the suite really tried: a case without a reason must be
// exercised — some test must call `Hostile.tried(.thatCase, …)` while it feeds the entry point a
// hostile input — and the run log shows which tests did (`--verbose` lists them). A case whose
// line ends with `// no hostile input: …` is explained instead: its inputs have no invalid values
// (plain report values, comparisons), or it is an `unsafe`/allocator-author primitive whose
// contract is the caller's, checked where the library relies on it.

/// A public entry point taking input (see the file comment).
enum EntryPoint: String, CaseIterable, Sendable {
    case requestInit = "ZiggyAlloc AllocationRequest.init(_:count:alignment:zeroed:site:)"
    case requestInitBytes = "ZiggyAlloc AllocationRequest.init(byteCount:alignment:zeroed:site:)"
    case statisticsInit = "ZiggyAlloc AllocationStatistics.init(liveBytes:liveAllocations:peakBytes:cumulativeBytes:totalAllocations:)" // no hostile input: a plain report value; every Int is a counter value it may hold, nothing validates or consumes it
    case backendInit = "ZiggyAlloc BufferBacking.Backend.init(_:)" // no hostile input: any string names a backend by design (custom allocators add their own)
    case backingDetails = "ZiggyAlloc BufferBacking.details(as:)"
    case backingInit = "ZiggyAlloc BufferBacking.init(backend:alignment:reservedByteCount:details:)" // no hostile input: a plain report value a custom allocator fills in; nothing validates or consumes it
    case ownerBacking = "ZiggyAlloc BufferOwner.backing(_:byteCount:)" // no hostile input: an open method user subclasses override; the library calls it with the buffer's own base and size
    case ownerRelease = "ZiggyAlloc BufferOwner.release(_:byteCount:)" // no hostile input: an open method user subclasses override; the library calls it exactly once per buffer
    case arrayDistance = "ZiggyAlloc BufferArray.distance(from:to:)"
    case arrayIndexOffset = "ZiggyAlloc BufferArray.index(_:offsetBy:)"
    case arrayIndexLimited = "ZiggyAlloc BufferArray.index(_:offsetBy:limitedBy:)"
    case arrayIndexAfter = "ZiggyAlloc BufferArray.index(after:)"
    case arrayIndexBefore = "ZiggyAlloc BufferArray.index(before:)"
    case arrayInit = "ZiggyAlloc BufferArray.init(_:allocator:fileID:line:function:) (consuming UnmanagedBuffer<Element>, A, StaticString, UInt, StaticString)"
    case arrayInitDebug = "ZiggyAlloc BufferArray.init(_:allocator:fileID:line:function:) (consuming UnmanagedBuffer<Element>, borrowing DebugMemoryAllocator<Base>, StaticString, UInt, StaticString)"
    case arrayInitCopying = "ZiggyAlloc BufferArray.init(allocator:copying:fileID:line:function:) where Element: BitwiseCopyable"
    case arrayInitCopyingTrivial = "ZiggyAlloc BufferArray.init(allocator:copying:fileID:line:function:) where Element: TrivialElement"
    case arrayInitRepeating = "ZiggyAlloc BufferArray.init(allocator:count:repeating:fileID:line:function:) where Element: BitwiseCopyable"
    case arrayInitRepeatingTrivial = "ZiggyAlloc BufferArray.init(allocator:count:repeating:fileID:line:function:) where Element: TrivialElement"
    case arraySubscript = "ZiggyAlloc BufferArray.subscript(_:) (Int)"
    case arraySubscriptRange = "ZiggyAlloc BufferArray.subscript(_:) (Range<Int>)"
    case arraySwapAt = "ZiggyAlloc BufferArray.swapAt(_:_:)"
    case arrayWithBuffer = "ZiggyAlloc BufferArray.withBuffer(_:)"
    case arrayContiguousMutable = "ZiggyAlloc BufferArray.withContiguousMutableStorageIfAvailable(_:)"
    case arrayContiguous = "ZiggyAlloc BufferArray.withContiguousStorageIfAvailable(_:)"
    case arrayWithBufferPointer = "ZiggyAlloc BufferArray.withUnsafeBufferPointer(_:)"
    case arrayWithMutableBufferPointer = "ZiggyAlloc BufferArray.withUnsafeMutableBufferPointer(_:)"
    case callSiteEquals = "ZiggyAlloc LeakReport.CallSite.==(_:_:)" // no hostile input: equality over any two values
    case callSiteHash = "ZiggyAlloc LeakReport.CallSite.hash(into:)" // no hostile input: hashing any value
    case callSiteInit = "ZiggyAlloc LeakReport.CallSite.init(fileID:line:function:)" // no hostile input: static strings and a line number, every value valid (they only label leak reports)
    case ctxInit = "ZiggyAlloc Ctx.init(allocator:write:readLine:)"
    case ctxPrint = "ZiggyAlloc Ctx.print(_:terminator:)"
    case debugAllocateRaw = "ZiggyAlloc DebugMemoryAllocator.allocateRaw(_:)"
    case debugFailure = "ZiggyAlloc DebugMemoryAllocator.failure(forInvalidRequest:)"
    case debugInit = "ZiggyAlloc DebugMemoryAllocator.init(_:wrapping:onLeak:scribble:logger:)"
    case deferAdopt = "ZiggyAlloc DeferScope.adopt(_:)"
    case deferDefer = "ZiggyAlloc DeferScope.defer(_:)"
    case deferRun = "ZiggyAlloc DeferScope.run(_:)"
    case rawBuffer = "ZiggyAlloc RawAllocation.buffer(of:)"
    case rawInit = "ZiggyAlloc RawAllocation.init(base:byteCount:owner:)" // no hostile input: an @unsafe value for allocator authors that checks nothing itself; what consumes it does — the typed allocate checks the size and alignment of every RawAllocation an allocator returns (Custom allocators suite), and buffer(of:) refuses misfits (rawBuffer)
    case scopedAllocateRaw = "ZiggyAlloc ScopedAllocator.allocateRaw(_:)"
    case scopedResizeRaw = "ZiggyAlloc ScopedAllocator.resizeRaw(_:to:)"
    case scopedAllocate = "ZiggyAlloc ScopedAllocator.allocate(_:count:alignment:zeroed:fileID:line:function:)"
    case scopedInit = "ZiggyAlloc ScopedAllocator.init(chunkByteCount:)"
    case scopedWithScope = "ZiggyAlloc ScopedAllocator.withScope(chunkByteCount:_:)"
    case recorderAllocation = "ZiggyAlloc StatisticsRecorder.recordAllocation(byteCount:)"
    case recorderDeallocation = "ZiggyAlloc StatisticsRecorder.recordDeallocation(byteCount:)"
    case systemAllocate = "ZiggyAlloc SystemMemoryAllocator.allocate(_:count:alignment:zeroed:fileID:line:function:)"
    case systemAllocateRaw = "ZiggyAlloc SystemMemoryAllocator.allocateRaw(_:)"
    case systemResizeRaw = "ZiggyAlloc SystemMemoryAllocator.resizeRaw(_:to:)"
    case bufferDot = "ZiggyAlloc UnmanagedBuffer.dot(_:)"
    case copyFromSpan = "ZiggyAlloc UnmanagedBuffer.copy(from:)"
    case fill = "ZiggyAlloc UnmanagedBuffer.fill(with:)"
    case unsafeWrappingInit = "ZiggyAlloc UnmanagedBuffer.init(unsafeWrapping:)"
    case mutableSpanRange = "ZiggyAlloc UnmanagedBuffer.mutableSpan(_:)"
    case ownerOfType = "ZiggyAlloc UnmanagedBuffer.owner(ofType:)"
    case rebound = "ZiggyAlloc UnmanagedBuffer.rebound(to:) where T: BitwiseCopyable"
    case reboundTrivial = "ZiggyAlloc UnmanagedBuffer.rebound(to:) where T: TrivialElement"
    case spanRange = "ZiggyAlloc UnmanagedBuffer.span(_:)"
    case subscriptIndex = "ZiggyAlloc UnmanagedBuffer.subscript(_:)"
    case withBufferPointer = "ZiggyAlloc UnmanagedBuffer.withUnsafeBufferPointer(_:)"
    case withMutableBufferPointer = "ZiggyAlloc UnmanagedBuffer.withUnsafeMutableBufferPointer(_:)"
    case withBytes = "ZiggyAlloc UnmanagedBuffer.withUnsafeBytes(_:)"
    case withWrapping = "ZiggyAlloc UnmanagedBuffer.withWrapping(_:_:) (inout MutableSpan<Element>, (inout UnmanagedBuffer<Element>.Wrapped) throws(E) -> R) where Element: BitwiseCopyable"
    case withWrappingArray = "ZiggyAlloc UnmanagedBuffer.withWrapping(_:_:) (inout [Element], (inout UnmanagedBuffer<Element>.Wrapped) throws(E) -> R) where Element: BitwiseCopyable"
    case withWrappingTrivial = "ZiggyAlloc UnmanagedBuffer.withWrapping(_:_:) (inout MutableSpan<Element>, (inout UnmanagedBuffer<Element>.Wrapped) throws(E) -> R) where Element: TrivialElement"
    case withWrappingArrayTrivial = "ZiggyAlloc UnmanagedBuffer.withWrapping(_:_:) (inout [Element], (inout UnmanagedBuffer<Element>.Wrapped) throws(E) -> R) where Element: TrivialElement"
    case allocate = "ZiggyAlloc UnmanagedMemoryAllocator.allocate(_:count:alignment:zeroed:fileID:line:function:) where T: BitwiseCopyable"
    case allocateTrivial = "ZiggyAlloc UnmanagedMemoryAllocator.allocate(_:count:alignment:zeroed:fileID:line:function:) where T: TrivialElement"
    case allocateCopyingSpan = "ZiggyAlloc UnmanagedMemoryAllocator.allocate(copying:fileID:line:function:) where T: BitwiseCopyable"
    case allocateCopyingSpanTrivial = "ZiggyAlloc UnmanagedMemoryAllocator.allocate(copying:fileID:line:function:) where T: TrivialElement"
    case allocateCopyingCollection = "ZiggyAlloc UnmanagedMemoryAllocator.allocate(copying:fileID:line:function:) where C: Collection, C.Element: BitwiseCopyable"
    case allocateCopyingCollectionTrivial = "ZiggyAlloc UnmanagedMemoryAllocator.allocate(copying:fileID:line:function:) where C: Collection, C.Element: TrivialElement"
    case allocateRawRequirement = "ZiggyAlloc UnmanagedMemoryAllocator.allocateRaw(_:)"
    case resize = "ZiggyAlloc UnmanagedMemoryAllocator.resize(_:to:fileID:line:function:)"
    case resizeRawRequirement = "ZiggyAlloc UnmanagedMemoryAllocator.resizeRaw(_:to:) (requirement)" // no hostile input: an allocator-author primitive; resize(_:to:) validates every request before calling it and checks the size and alignment of what it returns (each allocator's own resizeRaw is fed hostile allocations below)
    case resizeRawDefault = "ZiggyAlloc UnmanagedMemoryAllocator.resizeRaw(_:to:) (default implementation)" // no hostile input: the default answers nil for every input without touching the allocation
    case failureRequirement = "ZiggyAlloc UnmanagedMemoryAllocator.failure(forInvalidRequest:)"
    case failureDefault = "ZiggyAlloc UnmanagedMemoryAllocator.failure(forInvalidRequest:) where Self.Failure == AllocationError"
    case wrappedCopy = "ZiggyAlloc UnmanagedBuffer.Wrapped.copy(from:)"
    case wrappedSpanRange = "ZiggyAlloc UnmanagedBuffer.Wrapped.span(_:)"
    case wrappedMutableSpanRange = "ZiggyAlloc UnmanagedBuffer.Wrapped.mutableSpan(_:)"
    case wrappedWithBufferPointer = "ZiggyAlloc UnmanagedBuffer.Wrapped.withUnsafeBufferPointer(_:)"
    case wrappedWithMutableBufferPointer = "ZiggyAlloc UnmanagedBuffer.Wrapped.withUnsafeMutableBufferPointer(_:)"
    case wrappedFill = "ZiggyAlloc UnmanagedBuffer.Wrapped.fill(with:)"
    case wrappedSubscript = "ZiggyAlloc UnmanagedBuffer.Wrapped.subscript(_:)"
    case gridLayoutInit = "ZiggyAlloc Grid.Layout.init(_:order:padding:)"
    case gridInitBuffer = "ZiggyAlloc Grid.init(_:layout:)"
    case gridInitExtents = "ZiggyAlloc Grid.init(extents:order:padding:alignment:zeroed:allocator:fileID:line:function:)"
    case gridSubscript = "ZiggyAlloc Grid.subscript(_:_:)"
    case gridSubscript3 = "ZiggyAlloc Grid.subscript(_:_:_:)"
    case gridWithMutableBufferPointer = "ZiggyAlloc Grid.withUnsafeMutableBufferPointer(_:)"
    case viewIndices = "ZiggyAlloc Grid.View.indices(_:)"
    case viewLine = "ZiggyAlloc Grid.View.line(_:)"
    case viewSlice = "ZiggyAlloc Grid.View.slice(_:)"
    case viewSubscript = "ZiggyAlloc Grid.View.subscript(_:_:)"
    case viewSubscript3 = "ZiggyAlloc Grid.View.subscript(_:_:_:)"
    case mutableViewIndices = "ZiggyAlloc Grid.MutableView.indices(_:)"
    case mutableViewLine = "ZiggyAlloc Grid.MutableView.mutableLine(_:)"
    case mutableViewSlice = "ZiggyAlloc Grid.MutableView.slice(_:)"
    case mutableViewSubscript = "ZiggyAlloc Grid.MutableView.subscript(_:_:)"
    case mutableViewSubscript3 = "ZiggyAlloc Grid.MutableView.subscript(_:_:_:)"
    case mapReadOnly = "ZiggyMmap FileMapping.mapReadOnly(_:as:count:offset:populate:) where T: BitwiseCopyable"
    case mapReadOnlyTrivial = "ZiggyMmap FileMapping.mapReadOnly(_:as:count:offset:populate:) where T: TrivialElement"
    case mapReadWrite = "ZiggyMmap FileMapping.mapReadWrite(_:as:count:offset:createOrExtend:populate:) where T: BitwiseCopyable"
    case mapReadWriteTrivial = "ZiggyMmap FileMapping.mapReadWrite(_:as:count:offset:createOrExtend:populate:) where T: TrivialElement"
    case poolRead = "ZiggyMmap HugePageReservation.Pool.read(_:)"
    case reservationInit = "ZiggyMmap HugePageReservation.init(_:count:node:)"
    case mmapAllocateRaw = "ZiggyMmap MmapAllocator.allocateRaw(_:)"
    case mmapResizeRaw = "ZiggyMmap MmapAllocator.resizeRaw(_:to:)"
    case mmapFailure = "ZiggyMmap MmapAllocator.failure(forInvalidRequest:)"
    case mmapInit = "ZiggyMmap MmapAllocator.init(pageSize:fallback:populate:lock:reusePoolBytes:onFallback:)"
    case nodeSetInit = "ZiggyMmap NodeSet.init(_:)"
    case nodeSetLiteral = "ZiggyMmap NodeSet.init(arrayLiteral:)"
    case nodeSetParsing = "ZiggyMmap NodeSet.init(parsing:)"
    case nodeSetIntersection = "ZiggyMmap NodeSet.intersection(_:)"
    case nodeSetSubset = "ZiggyMmap NodeSet.isSubset(of:)"
    case numaAllocateRaw = "ZiggyMmap NumaAllocator.allocateRaw(_:)"
    case numaResizeRaw = "ZiggyMmap NumaAllocator.resizeRaw(_:to:)"
    case numaFailure = "ZiggyMmap NumaAllocator.failure(forInvalidRequest:)"
    case numaInit = "ZiggyMmap NumaAllocator.init(policy:pageSize:fallback:populate:lock:reusePoolBytes:onFallback:)"
    case topologyDistance = "ZiggyMmap NumaTopology.distance(from:to:)"
    case placementFraction = "ZiggyMmap PlacementReport.fraction(onNode:)"
    case readOnlyAdvise = "ZiggyMmap FileMapping.ReadOnlyBuffer.advise(_:elements:)"
    case readOnlyWithBuffer = "ZiggyMmap FileMapping.ReadOnlyBuffer.withBuffer(_:)"
    case readOnlySubscript = "ZiggyMmap FileMapping.ReadOnlyBuffer.subscript(_:)"
    case readOnlyWithBufferPointer = "ZiggyMmap FileMapping.ReadOnlyBuffer.withUnsafeBufferPointer(_:)"
    case readOnlyWithBytes = "ZiggyMmap FileMapping.ReadOnlyBuffer.withUnsafeBytes(_:)"
    case adviseElements = "ZiggyMmap UnmanagedBuffer.advise(_:elements:)"
    case flush = "ZiggyMmap FileMapping.ReadWriteBuffer.flush(waiting:)"
    case placementElements = "ZiggyMmap UnmanagedBuffer.placement(elements:maximumSamples:)"
    case numaInitBound = "ZiggyMmap NumaAllocator.init(bound:spanning:pageSize:fallback:populate:lock:reusePoolBytes:onFallback:)"
    case bindingPolicy = "ZiggyMmap NumaTopology.Binding.policy(spanning:)"
    case teamAllocate = "ZiggyMmap Team.allocate(_:count:pageSize:fallback:memoryNodes:populate:) where T: BitwiseCopyable"
    case teamAllocateTrivial = "ZiggyMmap Team.allocate(_:count:pageSize:fallback:memoryNodes:populate:) where T: TrivialElement"
    case teamAllocateGrid = "ZiggyMmap Team.allocate(_:extents:order:padding:pageSize:fallback:memoryNodes:populate:)"
    case teamBlocksOf = "ZiggyMmap Team.blocks(of:)"
    case forEachBlockOf = "ZiggyMmap Team.forEachBlock(of:_:)"
    case forEachBlockOfReading = "ZiggyMmap Team.forEachBlock(of:reading:halo:_:)"
    case teamPlacementOf = "ZiggyMmap Team.placement(of:)"
    case teamDot = "ZiggyMmap Team.dot(_:_:)"
    case forEachChunkOf = "ZiggyMmap Team.forEachChunk(of:_:)"
    case forEachChunkOfReading = "ZiggyMmap Team.forEachChunk(of:reading:_:)"
    case forEachChunkOfReadingTwo = "ZiggyMmap Team.forEachChunk(of:reading:_:_:)"
    case forEachChunkReading = "ZiggyMmap Team.forEachChunk(reading:_:)"
    case teamInitPerNode = "ZiggyMmap Team.init(perNode:nodes:oversubscribe:)"
    case teamInit = "ZiggyMmap Team.init(threads:binding:oversubscribe:)"
    case teamMaximum = "ZiggyMmap Team.maximum(_:)"
    case teamMinimum = "ZiggyMmap Team.minimum(_:)"
    case teamRun = "ZiggyMmap Team.run(_:)"
    case teamScheduleFor = "ZiggyMmap Team.schedule(for:)"
    case teamSum = "ZiggyMmap Team.sum(_:)"
}
