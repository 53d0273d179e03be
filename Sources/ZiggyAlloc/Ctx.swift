/// An allocator and text input/output passed together, Zig-style (the .NET `Ctx`): functions take
/// one `Ctx` instead of reaching for globals, so tests can hand them an arena, a debug allocator
/// or captured output.
///
/// Noncopyable when its allocator is (an arena moved into a context ends with it); copyable
/// otherwise. Thread-safety is the allocator's and the streams'.
public struct Ctx<Allocator: UnmanagedMemoryAllocator & ~Copyable>: ~Copyable {
    /// The allocator every allocation through the context uses.
    public let allocator: Allocator
    /// Where ``print(_:terminator:)`` writes.
    public let output: TextSink
    /// Where ``readLine()`` reads.
    public let input: TextSource

    public init(allocator: consuming Allocator, output: TextSink = .standardOutput, input: TextSource = .standardInput) {
        self.allocator = allocator
        self.output = output
        self.input = input
    }

    /// Allocates `count` elements through the context's allocator (the .NET `AllocSlice`).
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int = 1, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        try allocator.allocate(type, count: count, zeroed: zeroed, fileID: fileID, line: line, function: function)
    }

    /// Allocates `count` elements whose ownership moves to `scope`: they are freed when the scope
    /// ends, in reverse order with its other actions (the .NET `ctx.Alloc<T>(defer)`). The returned
    /// pointer is valid until then.
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int = 1, zeroed: Bool = false, deferringTo scope: inout DeferScope,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(AllocationError) -> UnsafeMutableBufferPointer<T> {
        scope.adopt(try allocator.allocate(type, count: count, zeroed: zeroed, fileID: fileID, line: line, function: function))
    }

    /// Writes `text` followed by `terminator` to the output.
    public func print(_ text: String, terminator: String = "\n") {
        output.write(text + terminator)
    }

    /// Writes `text` and a newline (the .NET `PrintLine`).
    public func printLine(_ text: String) { print(text) }

    /// The next line of input, or nil at its end.
    public func readLine() -> String? { input.readLine() }
}

extension Ctx: Copyable where Allocator: Copyable {}
