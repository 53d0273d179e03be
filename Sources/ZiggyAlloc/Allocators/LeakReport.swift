/// The buffers a ``DebugMemoryAllocator`` handed out and that were not freed, with where each
/// was allocated.
///
/// Also the error ``DebugMemoryAllocator/finish()`` throws in `.throw` mode when there are leaks:
/// the report itself, not a wrapper around it. Whether there are any is `leaks.isEmpty`; the
/// bytes still allocated are `leaks.reduce(0) { $0 + $1.byteCount }` (the description says both).
public struct LeakReport: Error, Sendable, Hashable, CustomStringConvertible {
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

    public var description: String {
        if leaks.isEmpty { return "\(allocatorName): no leaks" }
        return "\(allocatorName): \(leaks.count) leaked buffer(s), \(leaks.reduce(0) { $0 + $1.byteCount }) B\n"
            + leaks.map { "  \($0)" }.joined(separator: "\n")
    }
}
