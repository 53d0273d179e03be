/// The buffers a ``DebugMemoryAllocator`` handed out and that were not freed, with where each
/// was allocated.
public struct LeakReport: Sendable, Hashable, CustomStringConvertible {
    /// One unfreed buffer.
    public struct Leak: Sendable, Hashable, CustomStringConvertible {
        /// Allocation order within the allocator (1 = first).
        public let sequence: Int
        public let byteCount: Int
        public let elementCount: Int
        public let elementType: String
        public let site: CallSite
        /// The buffer's address, for matching with a debugger.
        public let address: UInt

        public var description: String {
            "\(byteCount) B (\(elementCount) × \(elementType)) allocated at \(site) [#\(sequence), 0x\(String(address, radix: 16))]"
        }
    }

    /// The allocator's name.
    public let allocatorName: String
    /// Unfreed buffers in allocation order.
    public let leaks: [Leak]

    public var isEmpty: Bool { leaks.isEmpty }
    /// Bytes still allocated.
    public var leakedBytes: Int { leaks.reduce(0) { $0 + $1.byteCount } }

    public var description: String {
        if leaks.isEmpty { return "\(allocatorName): no leaks" }
        return "\(allocatorName): \(leaks.count) leaked buffer(s), \(leakedBytes) B\n"
            + leaks.map { "  \($0)" }.joined(separator: "\n")
    }
}

extension LeakReport {
    /// Thrown by ``DebugMemoryAllocator/finish()`` in `.throw` mode when buffers were not freed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let report: LeakReport
        public var description: String { report.description }
    }
}
