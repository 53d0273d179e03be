import Glibc
import Logging
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

// Arenas, debug trackers, contexts and defer scopes used wrongly: chunk sizes at and beyond every
// boundary, buffers outliving the arena that holds them, leaks in each leak mode, debug wrappers
// over every backend, failed allocations through a context and into a defer scope, text with
// embedded NULs, and bodies that throw.

/// Log messages a debug allocator writes.
final class MisuseLog: Sendable {
    // pthread-backed: ThreadSanitizer cannot see Mutex synchronize (make test-tsan)
    let messages = Locked<[String]>([])

    var logger: Logger { Logger(label: "misuse") { _ in Handler(log: self) } }

    struct Handler: LogHandler {
        let log: MisuseLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { log.messages.withLock { $0.append("\(event.message)") } }
    }
}

/// A `Ctx` write function that keeps every piece of text written to it.
final class CapturedText: Sendable {
    let pieces = Locked<[String]>([])
    var write: @Sendable (String) -> Void { { text in self.pieces.withLock { $0.append(text) } } }
    var all: [String] { pieces.withLock { $0 } }
}

/// A `Ctx` readLine function answering `lines` one per call, then nil for ever.
func readingLines(_ lines: [String]) -> @Sendable () -> String? {
    let cursor = Locked((lines: lines, index: 0))
    return {
        cursor.withLock { state in
            guard state.index < state.lines.count else { return nil }
            defer { state.index += 1 }
            return state.lines[state.index]
        }
    }
}

extension MisuseSuite {
    @Suite("Misuse: arenas, debug trackers, contexts and defer scopes")
    struct Scopes {
        // MARK: ScopedAllocator

        @Test(
            "ScopedAllocator chunk sizes: below 4 KiB becomes 4 KiB; impossible sizes are outOfMemory naming the malloc, with nothing reserved",
            arguments: [
                0, -1, Int.min, 1, 4095, 4096, 4097, 64 << 10, 64 << 20, (64 << 20) + 1, 1 << 40, 1 << 62,
                Int.max - 64, Int.max - 63, Int.max - 32, Int.max - 1, Int.max,
            ])
        func chunkSizes(chunk: Int) throws {
            Hostile.tried(.scopedInit, "chunkByteCount: \(chunk), then 1 B, 0 B and 1 MiB")
            let arena = ScopedAllocator(chunkByteCount: chunk)
            let effective = max(4096, chunk)
            let (total, overflow) = effective.addingReportingOverflow(64)
            let mayFail = overflow || effective >= 1 << 40
            if mayFail && !overflow && Host.sanitizerAbortsOnHugeMalloc {
                print(
                    "misuse: chunk \(chunk) skipped: the sanitizer aborts on a malloc this large (set allocator_may_return_null=1)")
                return
            }
            for attempt in 0..<2 {
                let before = arena.misuseState
                do throws(AllocationError) {
                    let one = try arena.allocate(UInt8.self, count: 1)
                    #expect(!mayFail || !Host.refusesHugeCommit, "chunk \(chunk): a \(effective) B chunk was allocated")
                    #expect(arena.reservedBytes == total, "chunk \(chunk): reserves \(arena.reservedBytes) B")
                    one.free()
                    break
                } catch {
                    #expect(mayFail, "chunk \(chunk), attempt \(attempt): \(error)")
                    let what = overflow ? "a block larger than Int.max" : "a \(total) B chunk"
                    #expect(
                        error == .outOfMemory(byteCount: 1, backend: "ScopedAllocator (malloc of \(what))", errno: .noMemory),
                        "chunk \(chunk): \(error)")
                    expectMessage(error, contains: ["malloc of \(what)", "out of memory allocating 1 B"])
                    #expect(
                        arena.misuseState == before,
                        "chunk \(chunk): a failed chunk changed the arena: \(before) → \(arena.misuseState)")
                }
            }
            // Empty requests never need a chunk; requests far above a quarter chunk get their own block.
            #expect(try arena.allocate(UInt64.self, count: 0).count == 0)
            if !mayFail {
                let big = try arena.allocate(UInt8.self, count: MiB + 3, alignment: 4096)
                #expect(Int(bitPattern: unsafe big.unsafeBaseAddress) % 4096 == 0 && big.count == MiB + 3)
            }
            #expect(arena.statistics.liveAllocations == 0)
        }

        @Test(
            "withScope(chunkByteCount:) with hostile chunk sizes, and a body that throws, still frees everything",
            arguments: [0, -4096, Int.min, Int.max])
        func withScopeChunks(chunk: Int) throws {
            struct Stop: Error {}
            Hostile.tried(.scopedWithScope, "chunkByteCount: \(chunk), throwing body")
            #expect(throws: Stop.self) {
                try ScopedAllocator.withScope(chunkByteCount: chunk) { arena throws(Stop) in
                    if chunk <= 4096 {
                        do throws(AllocationError) {
                            #expect(try arena.allocate(UInt8.self, count: 100).count == 100)
                        } catch {
                            Issue.record("\(error)")
                        }
                    }
                    throw Stop()
                }
            }
            Hostile.tried(.scopedWithScope, "chunkByteCount: \(chunk), a 1 GiB-aligned request")
            let aligned = ScopedAllocator.withScope(chunkByteCount: chunk) { arena -> Bool? in
                do throws(AllocationError) {
                    let buffer = try arena.allocate(UInt8.self, count: 1, alignment: GiB)
                    return Int(bitPattern: unsafe buffer.unsafeBaseAddress) % GiB == 0
                } catch {
                    return nil  // chunk sizes malloc cannot give fail the same way for this request
                }
            }
            #expect(aligned != false, "a 1 GiB-aligned arena request is misaligned")
        }

        @Test(
            "buffers that outlive their arena trap naming how many and how large (exit tests)",
            arguments: [
                "reset with a live buffer", "defer scope outlives the arena", "debug(arena) ends with a leak",
                "ctx(arena) ends before its defer scope",
            ])
        func arenaOutlived(kind: String) async {
            Hostile.tried(
                kind.hasPrefix("ctx") ? .deferAdopt : kind.hasPrefix("debug") ? .debugInit : .scopedWithScope, kind)
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { [kind = kind as String] in
                switch kind {
                case "reset with a live buffer":
                    let arena = ScopedAllocator()
                    let live = try arena.allocate(UInt16.self, count: 8)
                    arena.reset()
                    _ = live.count
                case "defer scope outlives the arena":
                    let scope = DeferScope()
                    do {
                        let arena = ScopedAllocator()
                        _ = scope.adopt(try arena.allocate(UInt16.self, count: 8))
                    }
                    _ = scope.pendingCount
                case "debug(arena) ends with a leak":
                    let scope = DeferScope()
                    do {
                        let debug = DebugMemoryAllocator("misuse", wrapping: ScopedAllocator(), logger: MisuseLog().logger)
                        _ = scope.adopt(try debug.allocate(UInt16.self, count: 8))
                    }
                    _ = scope.pendingCount
                default:
                    let scope = DeferScope()
                    do {
                        let context = Ctx(allocator: ScopedAllocator())
                        _ = scope.adopt(try context.allocator.allocate(UInt16.self, count: 8))
                    }
                    _ = scope.pendingCount
                }
            }
            let text = standardError(result)
            #expect(
                text.contains("ScopedAllocator: 1 buffer(s) of 16 B are still alive at the end of the arena's scope"),
                "\(kind): \(text.prefix(300))")
        }

        // MARK: DebugMemoryAllocator

        @Test(
            "DebugMemoryAllocator over every backend: hostile requests leave no record; leaks are reported with this file and line")
        func debugOverEveryBackend() throws {
            let names = ["", "\n", "a\u{0}b", String(repeating: "n", count: 10_000), "Physics"]
            for name in names {
                Hostile.tried(
                    .debugInit,
                    "name \(name.count > 20 ? "\(name.count) characters" : name.debugDescription) over system, scoped, mmap, numa, debug"
                )
                try Self.debugChecks(
                    name, DebugMemoryAllocator(name, wrapping: SystemMemoryAllocator(), logger: MisuseLog().logger))
                try Self.debugChecks(name, DebugMemoryAllocator(name, wrapping: ScopedAllocator(), logger: MisuseLog().logger))
                try Self.debugChecks(
                    name, DebugMemoryAllocator(name, wrapping: MmapAllocator(reusePoolBytes: 8 * MiB), logger: MisuseLog().logger))
                try Self.debugChecks(
                    name, DebugMemoryAllocator(name, wrapping: try NumaAllocator(policy: .bind([0])), logger: MisuseLog().logger))
                try Self.debugChecks(
                    name,
                    DebugMemoryAllocator(
                        name, wrapping: DebugMemoryAllocator("inner", wrapping: SystemMemoryAllocator()),
                        logger: MisuseLog().logger))
            }
        }

        static func debugChecks<Base: UnmanagedMemoryAllocator & MisuseInspectable & ~Copyable>(
            _ name: String, _ debug: consuming DebugMemoryAllocator<Base>
        ) throws {
            let before = debug.misuseState
            for count in [-1, Int.min, Int.max] {
                Hostile.tried(.allocate, "debug(\(Base.self)) count \(count)")
                do throws(Base.Failure) {
                    _ = try debug.allocate(UInt32.self, count: count).count
                    Issue.record("count \(count) was allocated")
                } catch {
                    #expect(requestError(error) != nil, "count \(count): \(error)")
                }
            }
            #expect(debug.misuseState == before, "\(Base.self): \(before) → \(debug.misuseState)")
            #expect(debug.leakReport.leaks.isEmpty && debug.leakReport.allocatorName == name)
            let kept = try debug.allocate(UInt32.self, count: 5); let line = #line
            let report = debug.leakReport
            #expect(report.leaks.count == 1 && report.leaks.reduce(0) { $0 + $1.byteCount } == 20)
            #expect(report.leaks.first?.site.line == UInt(line) && report.leaks.first?.elementType == "UInt32")
            #expect(report.description.contains("MisuseScopeTests.swift:\(line)"), "\(report)")
            kept.free()
            #expect(debug.leakReport.leaks.isEmpty)
            Hostile.tried(.debugInit, "finish() without leaks in .log mode")
            try debug.finish()
        }

        @Test(
            "DebugMemoryAllocator leak actions: .throw's finish() throws the report; dropping it with leaks traps; .trap traps; .log logs",
            arguments: ["throw-finish", "throw-dropped", "trap", "log"])
        func leakActions(mode: String) async throws {
            Hostile.tried(.debugInit, "onLeak \(mode) with one leaked buffer")
            switch mode {
            case "throw-finish":
                let debug = DebugMemoryAllocator("Leaky", wrapping: SystemMemoryAllocator(), onLeak: .throw)
                let leaked = try debug.allocate(UInt8.self, count: 3)
                do throws(LeakReport) {
                    try debug.finish()
                    Issue.record("finish() with a leak did not throw")
                } catch {
                    #expect(error.leaks.count == 1 && error.allocatorName == "Leaky")
                    #expect(error.description.contains("Leaky: 1 leaked buffer(s), 3 B"))
                }
                leaked.free()
            case "log":
                let log = MisuseLog()
                let mmap = MmapAllocator()
                var leaked = UnmanagedBuffer<UInt8>()
                do {
                    let debug = DebugMemoryAllocator("Logged", wrapping: mmap, onLeak: .log, logger: log.logger)
                    leaked = try debug.allocate(UInt8.self, count: 7)
                }
                let messages = log.messages.withLock { $0 }
                #expect(messages.count == 1 && messages.first?.contains("Logged: 1 leaked buffer(s), 7 B") == true, "\(messages)")
                // The buffer outlived its debug allocator; freeing it now is safe and unmaps it.
                leaked.free()
                #expect(mmap.statistics.liveAllocations == 0 && mmap.mmapStatistics.mappedBytes == 0)
            default:
                let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                    [mode = mode as String] in
                    let debug = DebugMemoryAllocator(
                        "Trapped", wrapping: SystemMemoryAllocator(), onLeak: mode == "trap" ? .trap : .throw)
                    let leaked = try debug.allocate(UInt8.self, count: 3)
                    _ = unsafe leaked.unsafeDetach()
                }
                let text = standardError(result)
                let expected =
                    mode == "trap"
                    ? "DebugMemoryAllocator found leaks" : "DebugMemoryAllocator ended without finish() in .throw mode with leaks"
                #expect(text.contains(expected) && text.contains("Trapped: 1 leaked buffer(s), 3 B"), "\(text.prefix(300))")
            }
        }

        @Test(
            "scribble: freed mapping memory reads 0xDB when on, keeps its bytes when off (seen through the reuse pool)",
            arguments: [true, false])
        func scribble(enabled: Bool) throws {
            Hostile.tried(.debugInit, "scribble: \(enabled) over a pooled MmapAllocator")
            let debug = DebugMemoryAllocator("misuse", wrapping: MmapAllocator(reusePoolBytes: 8 * MiB), scribble: enabled)
            var first = try debug.allocate(UInt8.self, count: 20 * 4096 + 1)
            first.fill(with: 0x11)
            first.free()
            let second = try debug.allocate(UInt8.self, count: 20 * 4096 + 1)
            #expect(second.backing.mapping?.isReused == true)
            let expected: UInt8 = enabled ? 0xDB : 0x11
            #expect(second.withUnsafeBytes { bytes in bytes.allSatisfy { $0 == expected } })
        }

        // MARK: Ctx

        @Test("Ctx over every allocator: hostile counts through it are the allocator's exact errors; nothing is adopted on failure")
        func contextAllocations() throws {
            Hostile.tried(.ctxInit, "system, scoped, debug(mmap), mmap, numa allocators; custom write and readLine")
            let output = CapturedText()
            try Self.contextChecks(Ctx(allocator: SystemMemoryAllocator(), write: output.write, readLine: readingLines([])))
            try Self.contextChecks(Ctx(allocator: ScopedAllocator(), write: output.write))
            try Self.contextChecks(Ctx(allocator: DebugMemoryAllocator("ctx", wrapping: MmapAllocator())))
            try Self.contextChecks(Ctx(allocator: MmapAllocator()))
            try Self.contextChecks(Ctx(allocator: try NumaAllocator(policy: .local)))
        }

        static func contextChecks<A: UnmanagedMemoryAllocator & MisuseInspectable & ~Copyable>(_ context: consuming Ctx<A>) throws {
            let scope = DeferScope()
            let before = context.allocator.misuseState
            for count in [-1, Int.min, Int.max, Int.max / 4 + 1] {
                let expected: AllocationError =
                    count < 0
                    ? .negativeCount(count, element: "UInt32")
                    : count == Int.max / 4 + 1 || count == Int.max
                        ? .sizeOverflow(count: count, stride: 4, element: "UInt32")
                        : .exceedsAddressSpace(byteCount: count * 4, limit: AllocationRequest.addressSpaceLimit)
                let wrapped = A.failure(forInvalidRequest: expected)
                Hostile.tried(.allocate, "Ctx<\(A.self)> count \(count)")
                do throws(A.Failure) { _ = try context.allocator.allocate(UInt32.self, count: count).count } catch {
                    #expect(sameError(error, wrapped), "\(error)")
                }
                Hostile.tried(.deferAdopt, "Ctx<\(A.self)> count \(count) into a scope")
                do throws(A.Failure) { _ = scope.adopt(try context.allocator.allocate(UInt32.self, count: count)) } catch {
                    #expect(sameError(error, wrapped), "\(error)")
                }
                Hostile.tried(.allocateTrivial, "Ctx<\(A.self)> NotTrivialClass count \(count)")
                let stride = MemoryLayout<NotTrivialClass>.stride
                let trivialExpected: AllocationError =
                    count < 0
                    ? .negativeCount(count, element: "NotTrivialClass")
                    : count > Int.max / stride
                        ? .sizeOverflow(count: count, stride: stride, element: "NotTrivialClass")
                        : count > AllocationRequest.addressSpaceLimit / stride
                            ? .exceedsAddressSpace(byteCount: count * stride, limit: AllocationRequest.addressSpaceLimit)
                            : .nonTrivialElement("NotTrivialClass")
                do throws(A.Failure) {
                    _ = try context.allocator.allocate(NotTrivialClass.self, count: count).count
                    Issue.record("NotTrivialClass × \(count) was allocated")
                } catch {
                    #expect(sameError(error, A.failure(forInvalidRequest: trivialExpected)), "\(error)")
                }
            }
            Hostile.tried(.allocateTrivial, "Ctx<\(A.self)> NotTrivialClass count 1")
            do throws(A.Failure) { _ = try context.allocator.allocate(NotTrivialClass.self).count } catch {
                #expect(sameError(error, A.failure(forInvalidRequest: .nonTrivialElement("NotTrivialClass"))), "\(error)")
            }
            #expect(scope.pendingCount == 0, "a failed allocation was adopted by the scope")
            #expect(context.allocator.misuseState == before)
            // Valid: empty and one-element buffers into the scope, freed when it ends.
            Hostile.tried(.deferAdopt, "Ctx<\(A.self)> count 0 and 1 into a scope")
            let none = scope.adopt(try context.allocator.allocate(UInt32.self, count: 0))
            let one = scope.adopt(try context.allocator.allocate(UInt32.self, count: 1, zeroed: true))
            #expect(none.count == 0 && one.count == 1 && one[0] == 0 && scope.pendingCount == 2)
            Hostile.tried(.allocateTrivial, "Ctx<\(A.self)> PublicPair count 3")
            let pairs = try context.allocator.allocate(PublicPair.self, count: 3)
            #expect(pairs.count == 3)
            pairs.free()
            _ = consume scope
            #expect(context.allocator.misuseState.live == before.live, "the scope did not free what it adopted")
        }

        // The removed forms (`ctx.allocate(…, deferringTo: &scope)`, then `deferringTo: scope`): their
        // callers now hand the allocator's buffer to the scope, and get the same failures and adoptions.
        @Test("scope.adopt(ctx.allocator.allocate(…)), what the removed deferringTo: callers write, fails and succeeds alike")
        func contextBorrowedScope() throws {
            let context = Ctx(allocator: SystemMemoryAllocator())
            let scope = DeferScope()
            Hostile.tried(.deferAdopt, "a local scope: count -1 and count 2")
            #expect(
                thrownError("borrowed scope -1") { () throws(AllocationError) in
                    _ = scope.adopt(try context.allocator.allocate(UInt64.self, count: -1))
                }
                    == .negativeCount(-1, element: "UInt64"))
            #expect(scope.pendingCount == 0)
            _ = scope.adopt(try context.allocator.allocate(UInt64.self, count: 2))
            #expect(scope.pendingCount == 1 && context.allocator.statistics.liveAllocations == 1)
            _ = consume scope
            #expect(context.allocator.statistics.liveAllocations == 0)
        }

        @Test("Ctx text: empty, NUL-containing and multi-line text passes through custom write and readLine closures exactly")
        func contextText() {
            let output = CapturedText()
            let lines = ["", "\u{0}", "a\u{0}b", "x\ny", String(repeating: "z", count: 100_000)]
            Hostile.tried(.ctxInit, "readLine answering \(lines.count) lines including empty, NUL and newline")
            Hostile.tried(.ctxInit, "write: a capturing closure")
            Hostile.tried(.ctxInit, "readLine: a closure that is always at the end")
            let context = Ctx(allocator: SystemMemoryAllocator(), write: output.write, readLine: readingLines(lines))
            for line in lines { #expect(context.readLine() == line) }
            #expect(context.readLine() == nil && context.readLine() == nil)
            let ended = Ctx(allocator: SystemMemoryAllocator(), readLine: { nil })
            #expect(ended.readLine() == nil)
            #expect(Ctx(allocator: SystemMemoryAllocator(), readLine: readingLines([])).readLine() == nil)
            for (text, terminator) in [("", ""), ("", "\n"), ("a\u{0}b", "\u{0}"), ("x\ny", "\r\n")] {
                Hostile.tried(.ctxPrint, "\(text.debugDescription), terminator \(terminator.debugDescription)")
                context.print(text, terminator: terminator)
            }
            Hostile.tried(.ctxPrint, "\"a\\0b\"")
            context.print("a\u{0}b")
            #expect(output.all == ["", "\n", "a\u{0}b\u{0}", "x\ny\r\n", "a\u{0}b\n"])
        }

        @Test("Ctx's default write (standard output) writes text with an embedded NUL completely (exit test, stdout into a pipe)")
        func standardOutputNul() async {
            Hostile.tried(.ctxPrint, "\"a\\0b|\" to standard output")
            await #expect(processExitsWith: .success) {
                var ends: [Int32] = [0, 0]
                guard pipe(&ends) == 0 else { exit(2) }
                dup2(ends[1], STDOUT_FILENO)
                Ctx(allocator: SystemMemoryAllocator()).print("a\u{0}b|", terminator: "")
                close(STDOUT_FILENO)
                close(ends[1])
                var bytes = [UInt8](repeating: 0, count: 16)
                let count = read(ends[0], &bytes, 16)
                exit(count == 4 && Array(bytes[0..<4]) == [97, 0, 98, 124] ? EXIT_SUCCESS : EXIT_FAILURE)
            }
        }

        // MARK: DeferScope

        @Test(
            "DeferScope: a throwing body still runs every action in reverse and frees adopted buffers; empty and wrapped buffers adopt safely"
        )
        func deferScopes() throws {
            struct Stop: Error, Equatable {}
            let system = SystemMemoryAllocator()
            let order = Collector()
            Hostile.tried(.deferRun, "body throws after 1000 actions and 2 adopted buffers")
            Hostile.tried(.deferDefer, "1000 actions")
            Hostile.tried(.deferAdopt, "owning, empty and wrapped buffers")
            var storage = [UInt8](repeating: 9, count: 16)
            #expect(throws: Stop()) {
                try DeferScope.run { scope throws(Stop) in
                    for index in 0..<1000 { scope.defer { order.append(index) } }
                    let owned = scope.adopt(try! system.allocate(UInt64.self, count: 4))
                    owned[3] = 1
                    let empty = scope.adopt(UnmanagedBuffer<UInt64>())
                    #expect(empty.count == 0)
                    storage.withUnsafeMutableBufferPointer { pointer in
                        _ = scope.adopt(unsafe UnmanagedBuffer(unsafeWrapping: pointer))
                    }
                    #expect(scope.pendingCount == 1003)
                    throw Stop()
                }
            }
            #expect(order.values == Array((0..<1000).reversed()))
            #expect(system.statistics.liveAllocations == 0)
            #expect(storage.allSatisfy { $0 == 9 }, "a wrapped buffer's memory was touched when the scope ended")
        }
    }
}
