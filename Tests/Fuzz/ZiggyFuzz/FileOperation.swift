import Glibc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyMmap
import ZiggySupport

// (d) FileMapping's count and offset arithmetic: offsets near Int.max, negative or unaligned,
// counts near Int.max / stride, files that are empty, short, growing or not regular at all. Every
// request is either the model's typed error or a buffer with the file's bytes; none may trap or
// hang (a FIFO without a writer), and nothing stays mapped.

/// The files the fuzzer maps, created once in a fresh directory under `$TMPDIR` (or /tmp) and
/// removed at exit.
final class FuzzFiles: @unchecked Sendable {
    static let shared = FuzzFiles()
    /// Whether `shared` exists (so a violation can remove its files before aborting).
    nonisolated(unsafe) static var created = false

    static let dataSize = 12_411
    static let scratchSize = 100
    /// Growth `createOrExtend` may cause.
    static let growthCap = 8 << 20

    let directory: String
    var data: String { directory + "/data" }
    var empty: String { directory + "/empty" }
    var scratch: String { directory + "/scratch" }
    var fifo: String { directory + "/fifo" }
    var missing: String { directory + "/missing" }

    /// The byte at `offset` of the data file (and of the scratch file's first 100 bytes).
    static func pattern(_ offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: offset &* 131 &+ 7) }

    private init() {
        let parent = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(parent)/ziggy-fuzz-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            fatalError("ziggy-fuzz: cannot create a temporary directory under \(parent)")
        }
        directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        write(data, (0..<Self.dataSize).map(Self.pattern))
        write(empty, [])
        resetScratch()
        guard mkfifo(fifo, 0o600) == 0 else { fatalError("ziggy-fuzz: mkfifo \(fifo) failed") }
        atexit { FuzzFiles.shared.remove() }
        FuzzFiles.created = true
    }

    private func write(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { fatalError("ziggy-fuzz: cannot create \(path)") }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { fatalError("ziggy-fuzz: cannot write \(path)") }
        close(fd)
    }

    /// After a createOrExtend: every file back to its size (growth adds zeros after the pattern,
    /// and no operation writes other bytes than the file's), the missing file missing again.
    func resetScratch() {
        write(scratch, (0..<Self.scratchSize).map(Self.pattern))
        guard truncate(data, off_t(Self.dataSize)) == 0, truncate(empty, 0) == 0 else {
            fatalError("ziggy-fuzz: cannot reset the files in \(directory)")
        }
        unlink(missing)
    }

    func remove() {
        for path in [data, empty, scratch, fifo, missing] { unlink(path) }
        rmdir(directory)
    }
}

enum FileOperation {
    static func run(_ input: inout FuzzInput) {
        let target = Int(input.byte() % 8)
        let selector = input.byte()
        let flags = input.byte()
        let count = input.int()
        let offset = input.int()
        withElementType(selector) { type in
            run(
                type, target: target, count: flags & 1 != 0 ? count : nil, offset: offset,
                writable: flags & 6 != 0, extend: flags & 4 != 0, populate: flags & 8 != 0)
        }
    }

    /// What mapping must give.
    enum Outcome {
        case error(String, (MmapError) -> Bool)
        /// A buffer of this many elements, the file grown to `size` bytes first when larger.
        case elements(Int, size: Int)
        /// Not attempted: it would grow the file beyond the cap.
        case skip
    }

    static func run<T: TrivialElement>(
        _ type: T.Type, target: Int, count: Int?, offset: Int, writable: Bool, extend: Bool,
        populate: Bool
    ) {
        let files = FuzzFiles.shared
        let paths = [
            files.data, files.empty, files.scratch, files.fifo, "/dev/zero", files.directory,
            "/proc/self/maps", files.missing,
        ]
        let path = paths[target]
        let sizes = [FuzzFiles.dataSize, 0, FuzzFiles.scratchSize]
        // What the file held before (the missing file is created empty by createOrExtend).
        let original = target < 3 ? sizes[target] : 0
        Harness.operation =
            "FileMapping.\(writable ? "mapReadWrite" : "mapReadOnly")(\(path), as: \(T.self), "
            + "count: \(count.map(String.init) ?? "nil"), offset: \(offset)\(writable ? ", createOrExtend: \(extend)" : ""), "
            + "populate: \(populate))"
        defer { if extend { files.resetScratch() } }

        let outcome = expect(
            T.self, target: target, fileSize: target < 3 ? sizes[target] : (target == 7 ? nil : -1),
            count: count, offset: offset, extend: extend, path: path)
        if case .skip = outcome { return }
        // What the mapping spans: from the page holding `offset` to the end, in whole pages.
        var spans: Set<Int> = []
        if case .elements(let elements, _) = outcome, elements > 0 {
            let page = PageSize.basePageByteCount
            spans.insert((offset % page + elements * MemoryLayout<T>.stride + page - 1) / page * page)
        }
        Harness.mappingOperation(sizes: spans) {
            map(
                T.self, path: path, outcome: outcome, count: count, offset: offset, writable: writable, extend: extend,
                populate: populate, original: original)
        }
    }

    static func map<T: TrivialElement>(
        _ type: T.Type, path: String, outcome: Outcome, count: Int?, offset: Int, writable: Bool,
        extend: Bool, populate: Bool, original: Int
    ) {
        do throws(MmapError) {
            if writable {
                let mapped = try FileMapping.mapReadWrite(
                    path, as: T.self, count: count, offset: offset,
                    createOrExtend: extend, populate: populate)
                let length = mapped.buffer.byteCount
                verify(
                    mapped.buffer.count, length, mapped.buffer.backing, outcome, path: path, populate: populate,
                    base: UnsafeRawPointer(mapped.buffer.unsafeBaseAddress), offset: offset, fileSize: original)
                if length > 0 {
                    // Write back what is there: exercises the shared writable mapping, changes nothing.
                    let raw = UnsafeMutableRawPointer(mapped.buffer.unsafeBaseAddress)
                    raw.storeBytes(of: raw.load(as: UInt8.self), as: UInt8.self)
                    try mapped.flush(waiting: false)
                }
                _ = consume mapped
            } else {
                let buffer = try FileMapping.mapReadOnly(path, as: T.self, count: count, offset: offset, populate: populate)
                let base = buffer.withUnsafeBytes { $0.baseAddress }
                verify(
                    buffer.count, buffer.byteCount, buffer.backing, outcome, path: path, populate: populate,
                    base: base, offset: offset, fileSize: original)
            }
        } catch {
            switch outcome {
            case _ where Harness.faulted:
                break  // an injected kernel failure: any typed error will do
            case .error(let what, let matches):
                Harness.require(matches(error), "threw \(error); expected \(what)")
            case .elements(let elements, _):
                Harness.violation("threw \(error); expected \(elements) elements")
            case .skip:
                break
            }
        }
    }

    /// The model. `fileSize` is the size of a regular file, nil for a missing one, −1 for a target
    /// that is not a regular data file.
    static func expect<T>(
        _ type: T.Type, target: Int, fileSize: Int?, count: Int?, offset: Int, extend: Bool,
        path: String
    ) -> Outcome {
        let name = String(describing: T.self)
        if !_isPOD(T.self) {
            return .error("request(nonTrivialElement)") { $0 == .request(.nonTrivialElement(name)) }
        }
        if offset < 0 || offset % MemoryLayout<T>.alignment != 0 {
            return .error("invalidArgument (offset)") { if case .invalidArgument = $0 { true } else { false } }
        }
        var needed: Int?
        if let count {
            switch RequestModel.expect(T.self, count: count, alignment: nil) {
            case .failure(let error): return .error("request(\(error))") { $0 == .request(error) }
            case .success(let valid): needed = valid.byteCount
            }
        }
        // The request is checked before the file is opened: an overflowing range is refused
        // whatever the path names.
        if let needed, offset.addingReportingOverflow(needed).overflow {
            return .error("invalidArgument (overflow)") { if case .invalidArgument = $0 { true } else { false } }
        }
        // Regular data files from here on, or the missing one with createOrExtend (which creates it).
        var size: Int
        switch fileSize {
        case nil where extend: size = 0
        case nil:
            return .error("fileUnavailable") {
                if case .fileUnavailable(_, let e) = $0 { e == .noSuchFileOrDirectory } else { false }
            }
        case let known? where known < 0:
            return .error("notMappable or fileUnavailable") {
                switch $0 {
                case .notMappable, .fileUnavailable: return true
                default: return false
                }
            }
        case let known?: size = known
        }
        let stride = MemoryLayout<T>.stride
        if let needed, let count {
            let end = offset + needed  // not overflowing: checked above
            if size < end {
                if !extend {
                    return .error("fileTooShort(\(size), \(end))") {
                        $0 == .fileTooShort(path: path, fileSize: size, required: end)
                    }
                }
                if end > FuzzFiles.growthCap { return .skip }
                size = end
            }
            return .elements(count, size: size)
        }
        if offset > size {
            return .error("fileTooShort(\(size), \(offset))") { $0 == .fileTooShort(path: path, fileSize: size, required: offset) }
        }
        if (size - offset) % stride != 0 {
            return .error("fileSizeNotMultiple") { $0 == .fileSizeNotMultiple(path: path, fileSize: size - offset, stride: stride) }
        }
        return .elements((size - offset) / stride, size: size)
    }

    /// Checks a mapped buffer: the count the model expects, the file's bytes at the offset, a
    /// truthful report.
    static func verify(
        _ count: Int, _ byteCount: Int, _ backing: BufferBacking, _ outcome: Outcome, path: String,
        populate: Bool, base: UnsafeRawPointer?, offset: Int, fileSize original: Int
    ) {
        guard case .elements(let elements, _) = outcome else {
            Harness.violation("mapped \(count) elements (\(backing)); expected \(outcome)")
        }
        Harness.require(count == elements, "mapped \(count) elements; expected \(elements)")
        Harness.require(
            backing.backend == .file && backing.mapping?.filePath == path,
            "a file mapping reports \(backing)")
        guard byteCount > 0, let base else { return }
        let reported = backing.mapping?.populate
        Harness.require(
            reported == (populate ? .kernel : PopulateMode.none),
            "populate \(populate) reports \(reported.map { "\($0)" } ?? "no mapping details")")
        Harness.require(backing.reservedByteCount >= byteCount, "reserves \(backing.reservedByteCount) B for \(byteCount) B")
        // The bytes are the file's (the data pattern, zeros where the file grew).
        for index in [0, 1, byteCount / 2, byteCount - 2, byteCount - 1] where index >= 0 && index < byteCount {
            let fileOffset = offset + index
            let expected = fileOffset < original ? FuzzFiles.pattern(fileOffset) : 0
            let actual = base.load(fromByteOffset: index, as: UInt8.self)
            Harness.require(
                actual == expected,
                "byte \(index) (file offset \(fileOffset)) reads \(actual), the file has \(expected)")
        }
    }
}
