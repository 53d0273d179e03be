import Logging
import Testing
import ZiggyAlloc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

/// Collects log messages so tests can read what the debug allocator logged.
final class CapturedLog: Sendable {
    let messages = Locked<[String]>([])

    var logger: Logger {
        Logger(label: "test") { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            log.messages.withLock { $0.append("\(event.level): \(event.message)") }
        }
    }
}

@Suite("DebugMemoryAllocator")
struct DebugMemoryAllocatorTests {
    @Test("the leak report names file, line and function of each unfreed allocation")
    func leakReportSites() throws {
        let debug = DebugMemoryAllocator(
            "Physics", wrapping: SystemMemoryAllocator(), onLeak: .log,
            logger: CapturedLog().logger)
        let kept = try debug.allocate(Float.self, count: 10); let keptLine = #line
        do {
            let freed = try debug.allocate(Int.self, count: 3)
            _ = freed.count
        }
        let report = debug.leakReport
        #expect(report.allocatorName == "Physics")
        #expect(report.leaks.count == 1)
        let leak = try #require(report.leaks.first)
        #expect(leak.byteCount == 40 && leak.elementCount == 10 && leak.elementType == "Float")
        #expect(leak.site.line == UInt(keptLine))
        #expect(leak.site.fileID.description.hasSuffix("DebugMemoryAllocatorTests.swift"))
        #expect(leak.site.function.description == "leakReportSites()")
        #expect(report.description.contains("DebugMemoryAllocatorTests.swift:\(keptLine)"))
        _ = kept.count
    }

    @Test("log mode logs the report when the allocator ends")
    func logMode() throws {
        let log = CapturedLog()
        var leaked: UnmanagedBuffer<UInt8>
        do {
            let debug = DebugMemoryAllocator("Audio", wrapping: SystemMemoryAllocator(), onLeak: .log, logger: log.logger)
            leaked = try debug.allocate(UInt8.self, count: 256); let line = #line
            let expected = "DebugMemoryAllocatorTests.swift:\(line)"
            #expect(log.messages.withLock { $0.isEmpty })
            _ = expected
        }
        let messages = log.messages.withLock { $0 }
        #expect(messages.count == 1)
        #expect(messages.first?.contains("Audio: 1 leaked buffer(s), 256 B") == true)
        #expect(messages.first?.contains("DebugMemoryAllocatorTests.swift:") == true)
        leaked.free()  // freeing after the allocator ended is still fine
    }

    @Test("no leaks: nothing is logged")
    func noLeaksNoLog() throws {
        let log = CapturedLog()
        do {
            let debug = DebugMemoryAllocator("Clean", wrapping: SystemMemoryAllocator(), logger: log.logger)
            let buffer = try debug.allocate(Int.self, count: 4)
            buffer.free()
            #expect(debug.leakReport.leaks.isEmpty)
            #expect(debug.statistics.liveAllocations == 0 && debug.statistics.totalAllocations == 1)
        }
        #expect(log.messages.withLock { $0.isEmpty })
    }

    @Test("throw mode: finish() throws the leak report")
    func throwMode() throws {
        let debug = DebugMemoryAllocator("Net", wrapping: SystemMemoryAllocator(), onLeak: .throw)
        let buffer = try debug.allocate(Int64.self, count: 2); let line = #line
        var caught: LeakReport?
        do { try debug.finish() } catch { caught = error }
        let error = try #require(caught)
        #expect(error.leaks.first?.site.line == UInt(line))
        #expect(error.leaks.reduce(0) { $0 + $1.byteCount } == 16)
        buffer.free()
    }

    @Test("throw mode without leaks: finish() returns normally")
    func throwModeClean() throws {
        let debug = DebugMemoryAllocator("Net", wrapping: SystemMemoryAllocator(), onLeak: .throw)
        try debug.allocate(Int64.self, count: 2).free()
        try debug.finish()
    }

    @Test("trap mode stops the process with the report")
    func trapMode() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var kept: UnmanagedBuffer<Int>
            do {
                let debug = DebugMemoryAllocator("Render", wrapping: SystemMemoryAllocator(), onLeak: .trap)
                kept = try debug.allocate(Int.self, count: 5)
            }
            kept.free()
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("Render: 1 leaked buffer(s), 40 B"))
    }

    @Test("buffers are marked debug-tracked and the wrapped allocator's counters follow")
    func wrappedStatistics() throws {
        let debug = DebugMemoryAllocator("S", wrapping: SystemMemoryAllocator())
        let buffer = try debug.allocate(UInt8.self, count: 64)
        #expect(buffer.backing.isDebugTracked)
        #expect(buffer.backing.backend == .system)
        #expect(debug.base.statistics.liveBytes == 64)
        #expect(debug.statistics.liveBytes == 64)
        buffer.free()
        #expect(debug.base.statistics.liveBytes == 0)
        #expect(debug.statistics.liveBytes == 0)
        #expect(debug.statistics.totalAllocations == 1)
    }

    @Test("scribbling overwrites freed bytes with 0xDB before they go back")
    func scribblePattern() throws {
        // Over an arena the freed bytes stay mapped until the arena ends, so the pattern can be read.
        let debug = DebugMemoryAllocator("OverArena", wrapping: ScopedAllocator())
        var buffer = try debug.allocate(UInt8.self, count: 16)
        buffer.fill(with: 1)
        let base = buffer.unsafeBaseAddress
        buffer.free()
        #expect((0..<16).allSatisfy { base[$0] == 0xDB })
        let individual = debug.supportsIndividualDeallocation
        #expect(!individual)
    }
}
