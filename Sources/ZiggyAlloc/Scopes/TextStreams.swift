import ZiggyKernel

// The default text streams of a `Ctx`: the process's standard output and input.

/// Writes every byte of `text` (NULs included) to standard output, retrying short writes.
@usableFromInline @Sendable
func _writeToStandardOutput(_ text: String) { Kernel.writeToStandardOutput(text) }

/// The next line of standard input, without its newline; nil at the end.
@usableFromInline @Sendable
func _readLineFromStandardInput() -> String? { Swift.readLine(strippingNewline: true) }
