import Glibc

// The default text streams of a `Ctx`: the process's standard output and input.

/// Writes every byte of `text` (NULs included) to standard output, retrying short writes.
@usableFromInline @Sendable
func _writeToStandardOutput(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if written < 0 && Glibc.errno == EINTR { continue }
        guard written > 0 else { return }
        offset += written
    }
}

/// The next line of standard input, without its newline; nil at the end.
@usableFromInline @Sendable
func _readLineFromStandardInput() -> String? { Swift.readLine(strippingNewline: true) }
