/// An allocator and text input/output passed together, Zig-style (the .NET `Ctx`): functions take
/// one `Ctx` instead of reaching for globals, so tests can hand them an arena, a debug allocator
/// or captured output.
///
/// Noncopyable when its allocator is (an arena moved into a context ends with it); copyable
/// otherwise. Thread-safety is the allocator's and the streams'.
public struct Ctx<Allocator: UnmanagedMemoryAllocator & ~Copyable>: ~Copyable {
    /// The allocator every allocation through the context uses: `ctx.allocator.allocate(…)` (the
    /// .NET `AllocSlice`), and for memory freed with a ``DeferScope``,
    /// `scope.adopt(try ctx.allocator.allocate(…))` (the .NET `ctx.Alloc<T>(defer)`).
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

    /// Writes `text` followed by `terminator` (a newline by default: the .NET `PrintLine`) to the
    /// output.
    public func print(_ text: String, terminator: String = "\n") {
        output(text + terminator)
    }

    /// The next line of input, or nil at its end.
    public func readLine() -> String? { input() }
}

extension Ctx: Copyable where Allocator: Copyable {}
