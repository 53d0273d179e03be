import Glibc
import SystemPackage

// Reads and writes of sysfs and procfs files: the other half of the seam. A failed read is nil
// (or empty): callers treat such files as measurements that degrade a report, never as a reason
// to fail a request — except where they say otherwise.
extension Kernel {
    /// The whole contents of a file (sysfs, procfs, small data files); nil when it cannot be read.
    package static func readBytes(_ path: String) -> [UInt8]? {
        #if ENABLE_MOCKING
        if injected(.readFile, path) != nil { return nil }
        #endif
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { _ = Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && Glibc.errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// The whole text of a (small) sysfs or procfs file; nil when it cannot be read.
    package static func readText(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// An integer sysfs value; nil when absent or malformed.
    package static func readInt(_ path: String) -> Int? {
        readText(path).flatMap { Int($0.trimmingWhitespace) }
    }

    /// Writes `text` to a sysfs or procfs file.
    package static func writeText(_ path: String, _ text: String) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if path.hasSuffix("nr_hugepages") { HugePagePoolLock.checkUse("writing \(text) to \(path)") }
        if let e = injected(.writeFile, path) { return .failure(e) }
        #endif
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.current) }
        defer { _ = Glibc.close(fd) }
        let written = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        return written >= 0 ? .success(()) : .failure(.current)
    }

    /// Creates or replaces a small regular file with `text` (mode 0644).
    package static func writeFile(_ path: String, _ text: String) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.writeFile, path) { return .failure(e) }
        #endif
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return .failure(.current) }
        defer { _ = Glibc.close(fd) }
        let written = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        return written >= 0 ? .success(()) : .failure(.current)
    }

    /// Removes a file (`unlink`).
    package static func removeFile(_ path: String) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.unlink, path) { return .failure(e) }
        #endif
        return Glibc.unlink(path) == 0 ? .success(()) : .failure(.current)
    }

    /// Creates a directory (`mkdir`); an existing one is success.
    package static func makeDirectory(_ path: String, mode: mode_t = 0o755) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.mkdir, path) { return .failure(e) }
        #endif
        return Glibc.mkdir(path, mode) == 0 || Glibc.errno == EEXIST ? .success(()) : .failure(.current)
    }

    /// This process's id and its start time in clock ticks since boot (`/proc/self/stat` field
    /// 22): together they name this process uniquely, even after its pid is reused.
    package static var processIdentity: (pid: Int32, startTime: UInt64) {
        let pid = getpid()
        return (pid, processStartTime(pid) ?? 0)
    }

    /// The start time of process `pid` (`/proc/PID/stat` field 22), nil when there is no such process.
    package static func processStartTime(_ pid: Int32) -> UInt64? {
        guard let text = readText("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may contain spaces) start with field 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// Entry names of a directory (without "." and ".."), sorted; empty when it cannot be read.
    /// The bytes a meminfo-style text gives for `key` — `/proc/meminfo` ("MemAvailable:  123 kB")
    /// and a node's `meminfo` ("Node 0 MemTotal:  123 kB") alike; nil when the key is absent. The
    /// library's one meminfo parser.
    package static func meminfoBytes(_ text: String, _ key: String) -> Int? {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let index = fields.firstIndex(where: { $0 == "\(key):" }), index + 1 < fields.count,
                let kB = Int(fields[index + 1])
            else { continue }
            return kB * 1024
        }
        return nil
    }

    /// Whether `path` exists (`access(F_OK)`: no file is opened).
    package static func pathExists(_ path: String) -> Bool {
        Glibc.access(path, F_OK) == 0
    }

    /// Whether this process may write into `path` (`access(W_OK)`).
    package static func isWritable(_ path: String) -> Bool {
        Glibc.access(path, W_OK) == 0
    }

    /// The environment variable `name`; nil when unset or empty.
    package static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    package static func listDirectory(_ path: String) -> [String] {
        #if ENABLE_MOCKING
        if injected(.listDirectory, path) != nil { return [] }
        #endif
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// One field of `/proc/self/status` ("Cpus_allowed_list", "Mems_allowed_list", …), trimmed.
    package static func processStatusField(_ name: String) -> String? {
        guard let text = readText("/proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return String(line.dropFirst(name.count + 1)).trimmingWhitespace
        }
        return nil
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and newlines.
    package var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
