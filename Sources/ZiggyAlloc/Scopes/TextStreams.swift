import Glibc
import ZiggyKernel

/// Where a ``Ctx`` writes text: a function taking each piece of text.
public struct TextSink: Sendable {
    public let write: @Sendable (String) -> Void

    public init(_ write: @escaping @Sendable (String) -> Void) { self.write = write }

    /// The process's standard output (each piece written straight to file descriptor 1).
    public static let standardOutput = TextSink { text in writeAll(STDOUT_FILENO, text) }

    /// The process's standard error.
    public static let standardError = TextSink { text in writeAll(STDERR_FILENO, text) }

    /// Writes every byte of `text` (NULs included), retrying short writes.
    private static func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && Glibc.errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}

/// Where a ``Ctx`` reads lines from: a function returning the next line, or nil at the end.
public struct TextSource: Sendable {
    public let readLine: @Sendable () -> String?

    public init(_ readLine: @escaping @Sendable () -> String?) { self.readLine = readLine }

    /// The process's standard input.
    public static let standardInput = TextSource { Swift.readLine(strippingNewline: true) }

    /// A fixed list of lines (for tests and replays).
    public static func lines(_ lines: [String]) -> TextSource {
        let cursor = LineCursor(lines)
        return TextSource { cursor.next() }
    }
}

final class LineCursor: Sendable {
    private let state: Locked<(lines: [String], index: Int)>
    init(_ lines: [String]) { state = Locked((lines, 0)) }
    func next() -> String? {
        state.withLock { state in
            guard state.index < state.lines.count else { return nil }
            defer { state.index += 1 }
            return state.lines[state.index]
        }
    }
}
