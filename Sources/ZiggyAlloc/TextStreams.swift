import Glibc

/// Where a ``Ctx`` writes text: a function taking each piece of text.
public struct TextSink: Sendable {
    public let write: @Sendable (String) -> Void

    public init(_ write: @escaping @Sendable (String) -> Void) { self.write = write }

    /// The process's standard output (each piece written straight to file descriptor 1).
    public static let standardOutput = TextSink { text in
        _ = text.withCString { Glibc.write(STDOUT_FILENO, $0, strlen($0)) }
    }

    /// The process's standard error.
    public static let standardError = TextSink { text in
        _ = text.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
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
