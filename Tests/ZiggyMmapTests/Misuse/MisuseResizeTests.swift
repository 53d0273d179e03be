import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

// Resizing fed hostile input: counts that are negative, overflow or exceed the address space,
// buffers that must not be resized (wrapped, file-mapped), and — for each allocator's own
// `resizeRaw` — allocations that are not its own or requests outside the contract. Every failure
// must leave the buffer exactly as it was (address, count, contents) and nothing mapped.
extension MisuseSuite {
    @Suite("Misuse: resize")
    struct ResizeMisuseTests {
        static let hostileCounts = [-1, -7, Int.min, Int.max, Int.max / 4 + 1, AllocationRequest.addressSpaceLimit / 4 + 3]

        /// Resizes a 1001-element buffer of `allocator` to every hostile count; each must throw and
        /// leave the buffer intact and nothing mapped.
        func hostileCounts<A: UnmanagedMemoryAllocator & ~Copyable>(_ allocator: borrowing A, _ name: String) throws {
            var buffer = try allocator.allocate(UInt32.self, count: 1001)
            buffer.withUnsafeMutableBufferPointer { $0.update(repeating: 0xC0FFEE) }
            let before = UInt(bitPattern: unsafe buffer.unsafeBaseAddress)
            let stats = allocator.statistics
            for count in Self.hostileCounts {
                let process = ProcessState.capture()
                Hostile.tried(.resize, "\(name): resize(1001 × UInt32, to: \(count))")
                let error = thrownError("\(name) resize to \(count)") { () throws(A.Failure) in
                    try allocator.resize(&buffer, to: count)
                }
                #expect(error != nil)
                #expect(UInt(bitPattern: unsafe buffer.unsafeBaseAddress) == before && buffer.count == 1001)
                #expect(buffer.toArray().allSatisfy { $0 == 0xC0FFEE }, "\(name): contents changed")
                #expect(allocator.statistics == stats, "\(name) resize to \(count)")
                process.expectNothingLeft(
                    lengths: suspectLengths(byteCount: count &* 4, pageSizes: [.base, .transparentHuge]),
                    "\(name) resize to \(count)")
            }
        }

        @Test("hostile counts through every allocator: typed errors, the buffer intact, nothing mapped or counted")
        func counts() throws {
            try hostileCounts(SystemMemoryAllocator(), "system")
            try ScopedAllocator.withScope { arena in try hostileCounts(arena, "arena") }
            try hostileCounts(DebugMemoryAllocator("misuse", wrapping: SystemMemoryAllocator()), "debug")
            try hostileCounts(MmapAllocator(), "mmap base")
            try hostileCounts(MmapAllocator(pageSize: .transparentHuge, populate: .kernel), "mmap THP")
            try hostileCounts(NumaAllocator(policy: .bind([0])), "numa bind(0)")
        }

        @Test("wrapped and file-mapped buffers: invalidArgument naming them; the memory and the file untouched")
        func notResizable() throws {
            var storage = [UInt8](repeating: 9, count: 4097)
            let allocator = MmapAllocator()
            storage.withUnsafeMutableBufferPointer { pointer in
                var view = unsafe UnmanagedBuffer(unsafeWrapping: pointer)
                for count in [0, 1, 4097, 8193] {
                    Hostile.tried(.resize, "wrapped 4097 B buffer to \(count)")
                    let error = thrownError("wrapped to \(count)") { () throws(MmapError) in try allocator.resize(&view, to: count)
                    }
                    guard case .request(.invalidArgument(let message))? = error else {
                        Issue.record("wrapped to \(count): \(String(describing: error))")
                        continue
                    }
                    #expect(message.contains("wrapped buffer"))
                    #expect(view.count == 4097)
                }
            }
            #expect(storage.allSatisfy { $0 == 9 })
            let file = TemporaryFile(bytes: [UInt8](repeating: 4, count: 5000))
            var mapped = try FileMapping.mapReadWrite(file.path, as: UInt8.self)
            for count in [0, 10, 5000, 1 << 20] {
                Hostile.tried(.resize, "read-write file mapping of 5000 B to \(count)")
                let process = ProcessState.capture()
                // Any allocator refuses: the file mapping's owner says why.
                let error = thrownError("file mapping to \(count)") { () throws(AllocationError) in
                    try SystemMemoryAllocator().resize(&mapped.buffer, to: count)
                }
                guard case .invalidArgument(let message)? = error else {
                    Issue.record("file mapping to \(count): \(String(describing: error))")
                    continue
                }
                #expect(message.contains(file.path))
                #expect(mapped.buffer.count == 5000 && mapped.buffer.backing.backend == .file)
                process.expectNothingLeft(lengths: [count, 1 << 20], "file mapping to \(count)")
            }
            #expect(file.contents == [UInt8](repeating: 4, count: 5000))
        }

        @Test("each allocator's resizeRaw given an allocation that is not its own answers nil and leaves it alone")
        func foreignAllocations() throws {
            let request = try AllocationRequest(UInt8.self, count: 3 * 4096 + 5, site: LeakReport.CallSite())
            let heap = SystemMemoryAllocator()
            var heapBuffer = try heap.allocate(UInt8.self, count: 777)
            heapBuffer.fill(with: 1)
            var mapped = try MmapAllocator().allocate(UInt8.self, count: 777)
            mapped.fill(with: 2)
            let heapRaw = unsafe RawAllocation(
                base: UnsafeMutableRawPointer(unsafe heapBuffer.unsafeBaseAddress), byteCount: 777,
                deallocator: .none)
            let mappedRaw = unsafe RawAllocation(
                base: UnsafeMutableRawPointer(unsafe mapped.unsafeBaseAddress), byteCount: 777, deallocator: .none)
            Hostile.tried(.systemResizeRaw, "another system allocator's / a mapping's allocation")
            #expect(try unsafe SystemMemoryAllocator().resizeRaw(heapRaw, to: request) == nil)
            #expect(try unsafe heap.resizeRaw(mappedRaw, to: request) == nil)
            Hostile.tried(.scopedResizeRaw, "a heap allocation")
            try ScopedAllocator.withScope { arena throws(AllocationError) in
                #expect(try unsafe arena.resizeRaw(heapRaw, to: request) == nil)
            }
            Hostile.tried(.mmapResizeRaw, "a heap allocation, another mapping allocator's")
            #expect(try unsafe MmapAllocator().resizeRaw(heapRaw, to: request) == nil)
            #expect(try unsafe MmapAllocator().resizeRaw(mappedRaw, to: request) == nil)
            Hostile.tried(.numaResizeRaw, "a heap allocation")
            #expect(try unsafe NumaAllocator(policy: .bind([0])).resizeRaw(heapRaw, to: request) == nil)
            #expect(heapBuffer.toArray().allSatisfy { $0 == 1 })
            #expect(mapped.toArray().allSatisfy { $0 == 2 })
            #expect(heap.statistics.liveAllocations == 1 && heap.statistics.liveBytes == 777)
        }

        @Test("resizeRaw with zero bytes (outside the contract: realloc would free, munmap would unmap all): invalidArgument")
        func zeroBytes() throws {
            let empty = try AllocationRequest(UInt8.self, count: 0, site: LeakReport.CallSite())
            let heap = SystemMemoryAllocator()
            var buffer = try heap.allocate(UInt8.self, count: 100)
            buffer.fill(with: 5)
            let raw = unsafe buffer.unsafeDetach()
            Hostile.tried(.systemResizeRaw, "own allocation to 0 B")
            #expect(throws: AllocationError.self) { try unsafe heap.resizeRaw(raw, to: empty) }
            #expect(unsafe raw.base.load(fromByteOffset: 99, as: UInt8.self) == 5)
            unsafe raw.release()
            #expect(heap.statistics.liveAllocations == 0)
            // Under the hugetlb test lock: the 2 MiB allocator maps pool pages when there are any.
            try withHugeTLBPool { try zeroByteMappings() }
        }

        func zeroByteMappings() throws {
            let empty = try AllocationRequest(UInt8.self, count: 0, site: LeakReport.CallSite())
            for (name, allocator) in [
                ("base", MmapAllocator()), ("huge2MiB", MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller)),
            ] {
                var mapped = try allocator.allocate(UInt8.self, count: 100)
                mapped.fill(with: 6)
                Hostile.tried(.mmapResizeRaw, "\(name): own allocation to 0 B")
                let detached = unsafe mapped.unsafeDetach()
                let error = thrownError("\(name) resizeRaw to 0 B") { () throws(MmapError) in
                    unsafe _ = try allocator.resizeRaw(detached, to: empty)
                }
                guard case .invalidArgument? = error else {
                    Issue.record("\(name): \(String(describing: error))")
                    unsafe detached.release()
                    continue
                }
                #expect(unsafe detached.base.load(fromByteOffset: 99, as: UInt8.self) == 6)
                unsafe detached.release()
                #expect(allocator.statistics.liveAllocations == 0)
            }
            let numa = try NumaAllocator(policy: .bind([0]))
            let numaBuffer = try numa.allocate(UInt8.self, count: 100)
            Hostile.tried(.numaResizeRaw, "own allocation to 0 B")
            let detached = unsafe numaBuffer.unsafeDetach()
            #expect(throws: MmapError.self) { try unsafe numa.resizeRaw(detached, to: empty) }
            unsafe detached.release()
            Hostile.tried(.scopedResizeRaw, "own last allocation to 0 B")
            try ScopedAllocator.withScope { arena throws(AllocationError) in
                let last = try arena.allocate(UInt8.self, count: 64)
                let lastRaw = unsafe last.unsafeDetach()
                #expect(throws: AllocationError.self) { try unsafe arena.resizeRaw(lastRaw, to: empty) }
                unsafe lastRaw.release()
            }
        }
    }
}
