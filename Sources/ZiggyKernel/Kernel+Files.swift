import CZiggyShims
import Glibc
import SystemPackage

// Files: open, fstat, fstatfs, ftruncate, flock, standard streams, close.
extension Kernel {
    /// How `open` opens a file (`O_*`); `O_CLOEXEC` is always added.
    package struct OpenOptions: OptionSet, Sendable {
        package let rawValue: Int32
        package init(rawValue: Int32) { self.rawValue = rawValue }
        /// `O_RDONLY` (zero: the absence of ``readWrite``).
        package static let readOnly: OpenOptions = []
        package static let readWrite = OpenOptions(rawValue: O_RDWR)
        package static let nonblocking = OpenOptions(rawValue: O_NONBLOCK)
        package static let create = OpenOptions(rawValue: O_CREAT)
        package static let exclusive = OpenOptions(rawValue: O_EXCL)
    }

    /// `open` (mode 0644 when it creates).
    package static func open(_ path: String, _ options: OpenOptions) -> Result<Int32, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.open, path) { return .failure(e) }
        #endif
        let fd = Glibc.open(path, options.rawValue | O_CLOEXEC, 0o644)
        return fd >= 0 ? .success(fd) : .failure(.current)
    }

    /// The file type bits (`st_mode & S_IFMT`) and size of an open file (`fstat`).
    package static func fileTypeAndSize(_ fd: Int32) -> Result<(type: UInt32, size: Int), Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.fstat) { return .failure(e) }
        #endif
        var type: UInt32 = 0
        var size: Int64 = 0
        return zg_file_type_and_size(fd, &type, &size) == 0 ? .success((type, Int(size))) : .failure(.current)
    }

    /// The file type bits and size of the file at `path` (`stat`).
    package static func pathTypeAndSize(_ path: String) -> Result<(type: UInt32, size: Int), Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.fstat, path) { return .failure(e) }
        #endif
        var type: UInt32 = 0
        var size: Int64 = 0
        return zg_path_type_and_size(path, &type, &size) == 0 ? .success((type, Int(size))) : .failure(.current)
    }

    /// The file system's magic number (`fstatfs`), to recognise procfs and sysfs.
    package static func fileSystemMagic(_ fd: Int32) -> Result<Int64, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.fstatfs) { return .failure(e) }
        #endif
        let magic = zg_fs_magic(fd)
        return magic >= 0 ? .success(magic) : .failure(.current)
    }

    /// Clears `O_NONBLOCK` (files are opened non-blocking so that a FIFO cannot hang the open).
    package static func clearNonblocking(_ fd: Int32) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.fcntl) { return .failure(e) }
        #endif
        return zg_clear_nonblocking(fd) == 0 ? .success(()) : .failure(.current)
    }

    package static func truncate(_ fd: Int32, _ size: Int) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.ftruncate) { return .failure(e) }
        #endif
        return ftruncate(fd, off_t(size)) == 0 ? .success(()) : .failure(.current)
    }

    /// `flock` (`LOCK_EX`, `LOCK_UN`), retried on `EINTR`.
    package static func flock(_ fd: Int32, _ operation: Int32) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.flock) { return .failure(e) }
        #endif
        while zg_flock(fd, operation) != 0 {
            if Glibc.errno != EINTR { return .failure(.current) }
        }
        return .success(())
    }

    /// Writes `text` to standard error, whole, for a message that precedes a trap. Never
    /// injected: a diagnostic must reach the user whatever the test plan says.
    package static func writeToStandardError(_ text: String) { writeAll(text, to: STDERR_FILENO) }

    /// Writes every byte of `text` (NULs included) to standard output, retrying short writes;
    /// stops silently when the output is gone (a closed pipe). Never injected.
    package static func writeToStandardOutput(_ text: String) { writeAll(text, to: STDOUT_FILENO) }

    private static func writeAll(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else { return }
            }
        }
    }

    /// `close`. Never injected: the descriptor is gone either way.
    package static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
