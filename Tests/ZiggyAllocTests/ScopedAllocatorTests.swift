import Glibc
import Testing
import ZiggyAlloc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@Suite("ScopedAllocator")
struct ScopedAllocatorTests {
    @Test("withScope frees every chunk at its end; individual frees only count")
    func scopeFreesAll() throws {
        let reserved = try ScopedAllocator.withScope { arena in
            #expect(arena.supportsIndividualDeallocation == false)
            var first = try arena.allocate(Int.self, count: 100)
            first.fill(with: 1)
            let second = try arena.allocate(Double.self, count: 10, zeroed: true)
            #expect(second.toArray().allSatisfy { $0 == 0 })
            #expect(arena.statistics.liveAllocations == 2)
            #expect(second.backing.backend == .scoped)
            second.free()
            #expect(arena.statistics.liveAllocations == 1)
            #expect(arena.statistics.liveBytes == 800)
            #expect(arena.reservedBytes >= 880)  // the bytes stay with the arena until its end
            return arena.reservedBytes
        }
        #expect(reserved > 0)
    }

    @Test("a local arena ends with its lexical scope, after the buffers declared later")
    func lexicalEnd() throws {
        let arena = ScopedAllocator(chunkByteCount: 4096)
        var buffer = try arena.allocate(UInt8.self, count: 100)
        buffer.fill(with: 9)
        #expect(buffer[99] == 9)
        #expect(arena.statistics.liveAllocations == 1)
        // `buffer` ends before `arena`: no trap.
    }

    @Test("bump allocation respects alignment and grows into new chunks and dedicated blocks")
    func alignmentAndGrowth() throws {
        try ScopedAllocator.withScope(chunkByteCount: 4096) { arena in
            var total = 0
            for i in 0..<200 {
                let alignment = 1 << (i % 8 + 3)  // 8 … 1024
                let buffer = try arena.allocate(UInt64.self, count: i + 1, alignment: alignment)
                #expect(Int(bitPattern: buffer.unsafeBaseAddress) % alignment == 0)
                total += buffer.byteCount
                buffer.free()
            }
            let big = try arena.allocate(UInt8.self, count: 1 << 20)  // larger than a chunk
            let huge = try arena.allocate(UInt8.self, count: 64, alignment: 1 << 20)
            #expect(Int(bitPattern: huge.unsafeBaseAddress) % (1 << 20) == 0)
            #expect(arena.statistics.cumulativeBytes == total + (1 << 20) + 64)
            _ = (big.count, huge.count)
        }
    }

    @Test("reset() frees everything so the arena can be reused")
    func reset() throws {
        let arena = ScopedAllocator()
        do {
            let buffer = try arena.allocate(Int.self, count: 1000)
            _ = buffer.count
        }
        #expect(arena.reservedBytes > 0)
        arena.reset()
        #expect(arena.reservedBytes == 0)
        let again = try arena.allocate(Int.self, count: 10)
        #expect(again.count == 10)
    }

    @Test("a buffer that outlives its arena's scope traps, naming the count and bytes")
    func escapeTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var escaped: UnmanagedBuffer<Int>? = nil
            try ScopedAllocator.withScope { arena in
                escaped = try arena.allocate(Int.self, count: 16)
            }
            _ = escaped?.count  // never reached
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("1 buffer(s) of 128 B are still alive at the end of the arena's scope"))
    }

    @Test("ScopedAllocator(chunkByteCount: Int.max - 32) then 1 byte throws instead of trapping")
    func chunkSizeNearMaxThrows() async {
        // In a child process: a chunk size overflowing on its way to malloc traps, which here
        // would end every test. The child says what happened on stderr.
        let result = await #expect(
            processExitsWith: .success, observing: [\.standardErrorContent],
            "ScopedAllocator(chunkByteCount: Int.max - 32).allocate(1 B) returned or trapped instead of throwing"
        ) {
            // Unbuffered: a trap would lose what print buffered.
            func say(_ text: String) { _ = (text + "\n").withCString { write(STDERR_FILENO, $0, strlen($0)) } }
            let arena = ScopedAllocator(chunkByteCount: Int.max - 32)
            do throws(AllocationError) {
                let count = try arena.allocate(UInt8.self, count: 1).count
                say("ScopedAllocator(chunkByteCount: Int.max - 32).allocate(1 B) returned \(count) instead of throwing")
                exit(EXIT_FAILURE)
            } catch {
                say("ScopedAllocator(chunkByteCount: Int.max - 32).allocate(1 B) threw: \(error)")
                exit(EXIT_SUCCESS)
            }
        }
        if let result { print(String(decoding: result.standardErrorContent, as: UTF8.self)) }
    }

    @Test("ScopedAllocator(chunkByteCount: 1 << 62): the out-of-memory error names the chunk size, not 1 B")
    func hugeChunkErrorNamesSize() {
        let arena = ScopedAllocator(chunkByteCount: 1 << 62)
        do throws(AllocationError) {
            _ = try arena.allocate(UInt8.self, count: 1).count
            Issue.record("a 4 EiB chunk was allocated")
        } catch {
            print("ScopedAllocator(chunkByteCount: 1 << 62).allocate(1 B) -> \(error)")
            guard case .outOfMemory(let bytes, _, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(bytes == 1, "the request was 1 B")
            #expect(error.description.contains("\(64 + (1 << 62)) B chunk"), "the message does not name the chunk malloc refused")
        }
    }
}
