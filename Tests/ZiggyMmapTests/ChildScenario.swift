import Glibc
import Testing
import ZiggyKernel

@testable import ZiggyMmap

/// The scenarios that run in a child process (an exit test) because a broken library would trap,
/// hang or raise SIGBUS in them, which would end the whole test process. Each body lives beside the
/// tests of its subject; this enum names them, so that the child — the test binary started again
/// — can find the body from a string.
///
/// The child writes what it saw to a file, which the test prints (or records as the failure's
/// explanation): when the exit status does not match, the observed output of an exit test is lost.
enum ChildScenario: String {
    case poolRace
    case fifo
    case fileOffsetReadOnly
    case fileOffsetReadOnlyBytes
    case fileOffsetReadWrite
    case debugScribble
    case reservationIntMax
    case reservationBeyondMemory
    case preferredNegative
    case bindNegative
    case otherNegativeNodes
    case parallelIntMax

    /// Runs the scenario in this process (the child); it says what it saw and returns whether the
    /// library behaved correctly.
    func body() -> Bool {
        switch self {
        case .poolRace: MmapAllocatorTests.poolRace()
        case .fifo: FileMappingTests.fifo()
        case .fileOffsetReadOnly: FileMappingTests.fileOffsetReadOnly()
        case .fileOffsetReadOnlyBytes: FileMappingTests.fileOffsetReadOnlyBytes()
        case .fileOffsetReadWrite: FileMappingTests.fileOffsetReadWrite()
        case .debugScribble: DebugMemoryAllocatorMmapTests.debugScribble()
        case .reservationIntMax: HugePageReservationBoundsTests.reservationIntMax()
        case .reservationBeyondMemory: HugePageReservationBoundsTests.reservationBeyondMemory()
        case .preferredNegative: NumaHostTests.preferredNegative()
        case .bindNegative: NumaHostTests.bindNegative()
        case .otherNegativeNodes: NumaHostTests.otherNegativeNodes()
        case .parallelIntMax: MmapAllocatorTests.parallelIntMax()
        }
    }

    /// Runs the scenario in a child process; the child's stdout and stderr go to a file whose text
    /// is returned. A child that exits non-zero (or traps) fails the test, with its report.
    @discardableResult
    func runInChild(sourceLocation: SourceLocation = #_sourceLocation) async -> String {
        let name = rawValue
        let reportPath = "/tmp/ziggy-child-\(getpid())-\(UInt32.random(in: 0 ... .max)).log"
        defer { unlink(reportPath) }
        let result = await #expect(
            processExitsWith: .success, "child '\(name)' (report below)", sourceLocation: sourceLocation
        ) { [name = name as String, reportPath = reportPath as String] in
            let fd = open(reportPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            precondition(fd >= 0, "cannot create \(reportPath)")
            dup2(fd, STDOUT_FILENO)
            dup2(fd, STDERR_FILENO)
            close(fd)
            guard let scenario = ChildScenario(rawValue: name) else {
                say("unknown child \(name)")
                exit(EXIT_FAILURE)
            }
            exit(scenario.body() ? EXIT_SUCCESS : EXIT_FAILURE)
        }
        var report = Kernel.readText(reportPath) ?? ""
        // A trap's backtrace is long; the first lines say what happened.
        let lines = report.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.count > 14 { report = lines.prefix(14).joined(separator: "\n") + "\n… (\(lines.count - 14) more lines)" }
        if result == nil {
            Issue.record("child '\(name)' report:\n\(report.isEmpty ? "(empty)" : report)", sourceLocation: sourceLocation)
        } else {
            print("child '\(name)':\n\(report)")
        }
        return report
    }

    // MARK: what a child checks

    /// Whether `body` throws (what a child expects of a call that once trapped on overflow).
    static func expectThrows(_ what: String, _ body: () throws -> Int) -> Bool {
        say("calling \(what) …")
        do {
            let value = try body()
            say("\(what) returned \(value) instead of throwing")
            return false
        } catch {
            say("\(what) threw: \(error)")
            return true
        }
    }

    /// Whether `body` throws `MmapError.unknownNode`.
    static func expectUnknownNode(_ what: String, _ body: () throws -> Void) -> Bool {
        say("calling \(what) …")
        do {
            try body()
            say("\(what) succeeded")
            return false
        } catch let error as MmapError {
            if case .unknownNode = error { say("\(what) threw unknownNode: \(error)"); return true }
            say("\(what) threw, but not unknownNode: \(error)")
            return false
        } catch {
            say("\(what) threw \(error)")
            return false
        }
    }
}

/// One line on stderr, unbuffered (print's buffered stdout is lost when the child traps).
func say(_ text: String) {
    let line = text + "\n"
    _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}
