import Testing
import ZiggyAlloc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

final class Transcript: Sendable {
    let text = Locked("")
    var write: @Sendable (String) -> Void { { piece in self.text.withLock { $0 += piece } } }
    var value: String { text.withLock { $0 } }
}

/// A fixed list of lines, read one per call (nil after the last): a `Ctx`'s `readLine` in tests.
func lines(_ lines: [String]) -> @Sendable () -> String? {
    let cursor = Locked((lines: lines, index: 0))
    return {
        cursor.withLock { state in
            guard state.index < state.lines.count else { return nil }
            defer { state.index += 1 }
            return state.lines[state.index]
        }
    }
}

struct Failure: Error {}

@Suite("Ctx and DeferScope")
struct CtxAndDeferScopeTests {
    @Test("Ctx carries an allocator and text input/output together")
    func ctxBasics() throws {
        let transcript = Transcript()
        let ctx = Ctx(allocator: SystemMemoryAllocator(), write: transcript.write, readLine: lines(["42", "7"]))
        var data = try ctx.allocator.allocate(Int.self, count: 2)
        data[0] = Int(ctx.readLine()!)!
        data[1] = Int(ctx.readLine()!)!
        #expect(ctx.readLine() == nil)
        ctx.print("sum \(data[0] + data[1])")
        ctx.print("no newline", terminator: "")
        #expect(transcript.value == "sum 49\nno newline")
        #expect(ctx.allocator.statistics.liveAllocations == 1)
    }

    @Test("a Ctx can own an arena (noncopyable) and allocate from it")
    func ctxWithArena() throws {
        let ctx = Ctx(allocator: ScopedAllocator(), write: Transcript().write)
        let buffer = try ctx.allocator.allocate(Double.self, count: 4, zeroed: true)
        #expect(buffer.backing.backend == .scoped)
        #expect(buffer.toArray() == [0, 0, 0, 0])
    }

    @Test("DeferScope runs actions and frees adopted buffers in reverse order")
    func deferOrder() throws {
        let order = Locked<[String]>([])
        let ctx = Ctx(allocator: DebugMemoryAllocator("Defer", wrapping: SystemMemoryAllocator(), onLeak: .throw))
        do {
            let scope = DeferScope()
            let first = scope.adopt(try ctx.allocator.allocate(Int.self, count: 1))
            scope.defer { order.withLock { $0.append("after first: live \(ctx.allocator.statistics.liveAllocations)") } }
            let second = scope.adopt(try ctx.allocator.allocate(Double.self, count: 1))
            scope.defer { order.withLock { $0.append("custom cleanup: live \(ctx.allocator.statistics.liveAllocations)") } }
            first[0] = 1
            second[0] = 2
            #expect(scope.pendingCount == 4)
            #expect(ctx.allocator.statistics.liveAllocations == 2)
        }
        // Reverse: custom cleanup (2 live), second freed, "after first" (1 live), first freed.
        #expect(order.withLock { $0 } == ["custom cleanup: live 2", "after first: live 1"])
        #expect(ctx.allocator.statistics.liveAllocations == 0)
        #expect(ctx.allocator.leakReport.leaks.isEmpty)
    }

    @Test("DeferScope.run cleans up when its body throws")
    func deferOnThrow() throws {
        let log = Locked<[Int]>([])
        let allocator = SystemMemoryAllocator()
        #expect(throws: Failure.self) {
            try DeferScope.run { scope in
                scope.defer { log.withLock { $0.append(1) } }
                let pointer = scope.adopt(try allocator.allocate(UInt8.self, count: 128))
                pointer[0] = 1
                scope.defer { log.withLock { $0.append(2) } }
                throw Failure()
            }
        }
        #expect(log.withLock { $0 } == [2, 1])
        #expect(allocator.statistics.liveAllocations == 0)
    }

    @Test("a local DeferScope also runs when the enclosing function throws")
    func localDeferOnThrow() {
        let log = Locked<[String]>([])
        func work() throws {
            let scope = DeferScope()
            scope.defer { log.withLock { $0.append("cleanup") } }
            throw Failure()
        }
        #expect(throws: Failure.self) { try work() }
        #expect(log.withLock { $0 } == ["cleanup"])
    }
}
