/// Where an allocation was requested: the caller's `#fileID`, `#line` and `#function`.
///
/// Captured by default arguments of the typed `allocate` calls at no run-time cost (static
/// strings), and recorded by ``DebugMemoryAllocator`` for leak reports.
public struct CallSite: Sendable, Hashable, CustomStringConvertible {
    public let fileID: StaticString
    public let line: UInt
    public let function: StaticString

    public init(fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function) {
        self.fileID = fileID
        self.line = line
        self.function = function
    }

    public var description: String { "\(fileID):\(line) in \(function)" }

    public static func == (a: CallSite, b: CallSite) -> Bool {
        a.line == b.line && a.fileID.description == b.fileID.description && a.function.description == b.function.description
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fileID.description)
        hasher.combine(line)
        hasher.combine(function.description)
    }
}
