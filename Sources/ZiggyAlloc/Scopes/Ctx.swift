/// An allocator and text input/output passed together, Zig-style (the .NET `Ctx`): functions take
/// one `Ctx` instead of reaching for globals, so tests can hand them an arena, a debug allocator
/// or captured output.
///
/// Noncopyable when its allocator is (an arena moved into a context ends with it); copyable
/// otherwise. Thread-safety is the allocator's and the streams'.
public struct Ctx<Allocator: UnmanagedMemoryAllocator & ~Copyable>: ~Copyable {
    /// The allocator every allocation through the context uses.
    public let allocator: Allocator
    let output: @Sendable (String) -> Void
    let input: @Sendable () -> String?

    /// A context over `allocator` whose ``print(_:terminator:)`` hands each piece of text to
    /// `write` (default: the process's standard output, every byte, short writes retried) and
    /// whose ``readLine()`` asks `readLine` (default: the process's standard input).
    public init(
        allocator: consuming Allocator, write: @escaping @Sendable (String) -> Void = _writeToStandardOutput,
        readLine: @escaping @Sendable () -> String? = _readLineFromStandardInput
    ) {
        self.allocator = allocator
        self.output = write
        self.input = readLine
    }

    /// Allocates `count` elements through the context's allocator (the .NET `AllocSlice`).
    @inlinable
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int = 1, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Allocator.Failure) -> UnmanagedBuffer<T> {
        try allocator.allocate(type, count: count, zeroed: zeroed, fileID: fileID, line: line, function: function)
    }

    /// Allocates `count` elements of a ``TrivialElement`` type through the context's allocator.
    @inlinable @_disfavoredOverload
    public func allocate<T: TrivialElement>(
        _ type: T.Type, count: Int = 1, zeroed: Bool = false,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Allocator.Failure) -> UnmanagedBuffer<T> {
        try allocator.allocate(type, count: count, zeroed: zeroed, fileID: fileID, line: line, function: function)
    }

    /// Allocates `count` elements whose ownership moves to `scope`: they are freed when the scope
    /// ends, in reverse order with its other actions (the .NET `ctx.Alloc<T>(defer)`). The returned
    /// pointer is valid until then.
    public func allocate<T: BitwiseCopyable>(
        _ type: T.Type, count: Int = 1, zeroed: Bool = false, deferringTo scope: borrowing DeferScope,
        fileID: StaticString = #fileID, line: UInt = #line, function: StaticString = #function
    ) throws(Allocator.Failure) -> UnsafeMutableBufferPointer<T> {
        scope.adopt(try allocator.allocate(type, count: count, zeroed: zeroed, fileID: fileID, line: line, function: function))
    }

    /// Writes `text` followed by `terminator` to the output.
    public func print(_ text: String, terminator: String = "\n") {
        output(text + terminator)
    }

    /// Writes `text` and a newline (the .NET `PrintLine`).
    public func printLine(_ text: String) { print(text) }

    /// The next line of input, or nil at its end.
    public func readLine() -> String? { input() }
}

extension Ctx: Copyable where Allocator: Copyable {}
