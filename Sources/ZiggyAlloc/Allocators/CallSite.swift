extension LeakReport {
    /// Where an allocation was requested: the caller's `#fileID`, `#line` and `#function`, as a
    /// leak report gives it (``LeakReport/Leak/site``).
    ///
    /// Captured by default arguments of the typed `allocate` calls at no run-time cost (static
    /// strings), and recorded by ``DebugMemoryAllocator`` for leak reports. Allocator authors
    /// receive it in their requests (`AllocationRequest.site`) and make one with the SPI
    /// initializer.
    public struct CallSite: Sendable, Hashable, CustomStringConvertible {
        public let fileID: StaticString
        public let line: UInt
        public let function: StaticString

        @_spi(AllocatorImplementation)
        public init(fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function) {
            self.init(_fileID: fileID, line: line, function: function)
        }

        /// The library's own initializer, usable from its inlinable code (which SPI is not).
        @usableFromInline
        init(_fileID fileID: StaticString, line: UInt, function: StaticString) {
            self.fileID = fileID
            self.line = line
            self.function = function
        }

        public var description: String { "\(fileID):\(line) in \(function)" }

        public static func == (a: CallSite, b: CallSite) -> Bool {
            a.line == b.line && a.fileID.description == b.fileID.description
                && a.function.description == b.function.description
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(fileID.description)
            hasher.combine(line)
            hasher.combine(function.description)
        }
    }
}
