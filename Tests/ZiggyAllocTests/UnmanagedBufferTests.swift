import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyAlloc

@Suite("UnmanagedBuffer")
struct UnmanagedBufferTests {
    let allocator = SystemMemoryAllocator()

    @Test("count, byteCount, subscript and baseAddress agree")
    func basics() throws {
        var buffer = try allocator.allocate(Int32.self, count: 1000)
        #expect(buffer.count == 1000)
        #expect(buffer.byteCount == 4000)
        #expect(buffer.isEmpty == false)
        #expect(buffer.backing.isOwning == true)
        for i in buffer.indices { buffer[i] = Int32(i) * 3 }
        #expect(buffer[999] == 2997)
        #expect(buffer.unsafeBaseAddress[500] == 1500)
        #expect(buffer.toArray().prefix(3) == [0, 3, 6])
    }

    @Test("fill, clear and copy(from:) with spans, buffers and arrays")
    func bulkOperations() throws {
        var a = try allocator.allocate(Double.self, count: 64)
        a.fill(with: 3.25)
        #expect(a.toArray().allSatisfy { $0 == 3.25 })
        a.clear()
        #expect(a.toArray().allSatisfy { $0 == 0 })

        var bytes = try allocator.allocate(UInt8.self, count: 10)
        bytes.fill(with: 0xAB)
        #expect(bytes.toArray() == Array(repeating: 0xAB, count: 10))

        var b = try allocator.allocate(Double.self, count: 64)
        let ramp = (0..<64).map(Double.init)
        try b.copy(from: ramp.span)
        try a.copy(from: b.span)
        #expect(a[63] == 63)
        try a.copy(from: b.span)
        #expect(a[10] == 10)
    }

    @Test("copy(from:) with a different count throws countMismatch and changes nothing")
    func copyMismatch() throws {
        var a = try allocator.allocate(Int.self, count: 4)
        a.fill(with: 7)
        let b = try allocator.allocate(Int.self, count: 5)
        #expect(throws: AllocationError.countMismatch(destination: 4, source: 5)) { try a.copy(from: b.span) }
        #expect(throws: AllocationError.countMismatch(destination: 4, source: 3)) { try a.copy(from: [1, 2, 3].span) }
        #expect(a.toArray() == [7, 7, 7, 7])
    }

    @Test("span, mutableSpan, raw byte spans and range spans view the same memory")
    func spans() throws {
        var buffer = try allocator.allocate(UInt16.self, count: 8)
        do {
            var span = buffer.mutableSpan
            for i in span.indices { span[i] = UInt16(i + 1) }
        }
        do {
            let span = buffer.span
            #expect(span.count == 8)
            #expect(span[7] == 8)
            #expect(buffer.byteCount == 16)
            #expect(buffer.bytes.unsafeLoad(fromByteOffset: 2, as: UInt16.self) == 2)
            let middle = buffer.span(2..<5)
            #expect(middle.count == 3 && middle[0] == 3 && middle[2] == 5)
        }
        do {
            var tail = buffer.mutableSpan(6..<8)
            tail[0] = 100
        }
        do {
            var raw = buffer.mutableBytes
            raw.storeBytes(of: 0xFFFF, toByteOffset: 0, as: UInt16.self)
        }
        #expect(buffer[6] == 100)
        #expect(buffer[0] == 0xFFFF)
    }

    @Test("withUnsafeMutableBufferPointer and withUnsafeBytes expose all elements")
    func unsafeAccess() throws {
        var buffer = try allocator.allocate(Int.self, count: 16)
        let total = buffer.withUnsafeMutableBufferPointer { pointer in
            for i in pointer.indices { pointer[i] = i }
            return pointer.reduce(0, +)
        }
        #expect(total == 120)
        let byteTotal = buffer.withUnsafeBytes { $0.count }
        #expect(byteTotal == 128)
    }

    @Test("deinit frees: statistics return to zero")
    func deinitFrees() throws {
        let allocator = SystemMemoryAllocator()
        do {
            let a = try allocator.allocate(UInt8.self, count: 100)
            let b = try allocator.allocate(UInt64.self, count: 10)
            #expect(allocator.statistics.liveBytes == 180)
            #expect(allocator.statistics.liveAllocations == 2)
            _ = (a.count, b.count)
        }
        let stats = allocator.statistics
        #expect(stats.liveBytes == 0 && stats.liveAllocations == 0)
        #expect(stats.cumulativeBytes == 180 && stats.totalAllocations == 2 && stats.peakBytes == 180)
    }

    @Test("free() releases early, exactly once")
    func earlyFree() throws {
        let allocator = SystemMemoryAllocator()
        let a = try allocator.allocate(UInt8.self, count: 64)
        #expect(allocator.statistics.liveAllocations == 1)
        a.free()
        #expect(allocator.statistics.liveAllocations == 0)
        #expect(allocator.statistics.liveBytes == 0)
        #expect(allocator.statistics.totalAllocations == 1)
    }

    @Test("a wrapped buffer (WrapExisting) never frees the memory it views")
    func wrapDoesNotFree() throws {
        let owner = try allocator.allocate(Int.self, count: 4)
        let before = allocator.statistics
        do {
            var view = UnmanagedBuffer(unsafeWrapping: UnsafeMutableBufferPointer(start: owner.unsafeBaseAddress, count: 4))
            #expect(view.backing.backend == .wrapped)
            #expect(!view.backing.isOwning)
            view.fill(with: 42)
            view.free()  // frees nothing
        }
        #expect(allocator.statistics == before)
        #expect(owner.toArray() == [42, 42, 42, 42])  // still valid and written through the view
    }

    @Test("withWrapping (WrapSpan) views a span's memory without owning it")
    func wrapSpan() {
        var array = [1, 2, 3, 4]
        var span = array.mutableSpan
        let sum = UnmanagedBuffer.withWrapping(&span) { buffer in
            buffer[0] = 10
            return buffer.withUnsafeBufferPointer { Array($0) }.reduce(0, +)
        }
        #expect(sum == 19)
        #expect(array[0] == 10)
    }

    @Test("a wrapped array offers an owned buffer's pointer and span accessors; generic span code takes either")
    func wrappedInteroperates() throws {
        // One function for both: it takes the view an owned buffer and a wrapped array both hand out.
        func scale(_ values: inout MutableSpan<Double>, by factor: Double) {
            for i in values.indices { values[i] *= factor }
        }
        var array: [Double] = [1, 2, 3, 4, 5, 6]
        let arrayBase = array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        var owned = try SystemMemoryAllocator().allocate(Double.self, count: 6)
        owned.fill(with: 2)
        var ownedView = owned.mutableSpan
        scale(&ownedView, by: 3)
        UnmanagedBuffer.withWrapping(&array) { wrapped in
            #expect(wrapped.span.bytes.byteCount == 6 * MemoryLayout<Double>.stride)
            // The same memory as the array, not a copy: a C function gets the array's own pointer.
            #expect(wrapped.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == arrayBase)
            #expect(wrapped.span.bytes.withUnsafeBytes { $0.count } == 48)
            wrapped.withUnsafeMutableBufferPointer { $0[5] = 60 }
            var view = wrapped.mutableSpan
            scale(&view, by: 10)
            #expect(wrapped.span(1..<3).count == 2 && wrapped.span(1..<3)[0] == 20)
            var tail = wrapped.mutableSpan(4..<6)
            tail[0] = -1
            #expect(wrapped[4] == -1)
            do { try wrapped.copy(from: owned.span) } catch { Issue.record("copy of equal counts threw \(error)") }
        }
        #expect(array == [6, 6, 6, 6, 6, 6])
        #expect(owned.toArray() == [6, 6, 6, 6, 6, 6])
        var short: [Double] = [0, 0]
        let mismatch: AllocationError? = UnmanagedBuffer.withWrapping(&short) { wrapped in
            do throws(AllocationError) { try wrapped.copy(from: owned.span) } catch { return error }
            return nil
        }
        #expect(mismatch == .countMismatch(destination: 2, source: 6))
        #expect(short == [0, 0])
        owned.free()
    }

    @Test("rebound(to:) reinterprets bytes and keeps ownership")
    func rebound() throws {
        let allocator = SystemMemoryAllocator()
        var bytes = try allocator.allocate(UInt8.self, count: 16)
        bytes.clear()
        var words = try bytes.rebound(to: UInt32.self)
        #expect(words.count == 4)
        words[3] = 0xDEADBEEF
        #expect(allocator.statistics.liveAllocations == 1)
        let odd = try allocator.allocate(UInt8.self, count: 6)
        var failed = false
        do { _ = try odd.rebound(to: UInt32.self) } catch { failed = true }
        #expect(failed)
        #expect(allocator.statistics.liveAllocations == 1)  // the failed rebind freed its buffer
    }

    @Test("empty buffers allocate nothing and free nothing")
    func emptyBuffers() throws {
        let allocator = SystemMemoryAllocator()
        let empty = try allocator.allocate(Double.self, count: 0)
        #expect(empty.isEmpty && empty.byteCount == 0)
        #expect(empty.toArray().isEmpty)
        #expect(allocator.statistics.totalAllocations == 0)
        let alsoEmpty = UnmanagedBuffer<Int>()
        #expect(alsoEmpty.count == 0)
    }

    @Test("backing names the backend and the alignment obtained")
    func backing() throws {
        let buffer = try allocator.allocate(Float.self, count: 256, alignment: 64)
        let backing = buffer.backing
        #expect(backing.backend == .system)
        #expect(backing.alignment == 64)
        #expect(backing.details == nil)  // malloc memory carries no mapping facts
        #expect(backing.reservedByteCount == 1024)
        #expect(Int(bitPattern: buffer.unsafeBaseAddress) % 64 == 0)
    }

    @Test("an out-of-range subscript traps naming the index and the count")
    func subscriptTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var buffer = try SystemMemoryAllocator().allocate(Int.self, count: 3)
            buffer[3] = 1
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("index 3 out of range for count 3"))
    }

    @Test("a negative subscript traps too")
    func negativeSubscriptTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let buffer = try SystemMemoryAllocator().allocate(Int.self, count: 3)
            _ = buffer[-1]
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("index -1 out of range for count 3"))
    }

    @Test("an out-of-range span range traps")
    func rangeTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let buffer = try SystemMemoryAllocator().allocate(Int.self, count: 3)
            _ = buffer.span(1..<4).count
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("range 1..<4 out of range for count 3"))
    }
}
