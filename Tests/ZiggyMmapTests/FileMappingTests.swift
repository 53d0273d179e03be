import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

@Suite("File mappings")
struct FileMappingTests {
    @Test("read-only: the whole file as elements, spans only")
    func readOnly() throws {
        let values: [UInt32] = (0..<1000).map { UInt32($0 * 7) }
        let file = TemporaryFile(bytes: values.withUnsafeBytes { Array($0) })
        let mapped = try FileMapping.mapReadOnly(file.path, as: UInt32.self, populate: true)
        #expect(mapped.count == 1000)
        #expect(mapped[999] == 6993)
        #expect(mapped.span[10] == 70)
        #expect(mapped.withBuffer { $0.toArray() } == values)
        #expect(mapped.backing.backend == .file)
        #expect(mapped.backing.mapping?.populate == .kernel)
    }

    @Test("an offset that is not page-aligned maps from the page below")
    func offset() throws {
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) }
        let file = TemporaryFile(bytes: bytes)
        let mapped = try FileMapping.mapReadOnly(file.path, as: UInt8.self, count: 100, offset: 5000)
        #expect(mapped.withBuffer { $0.toArray() } == Array(bytes[5000..<5100]))
    }

    @Test("read-write: writes reach the file; flush syncs them; createOrExtend grows it")
    func readWrite() throws {
        let file = TemporaryFile(bytes: [])
        do {
            var mapped = try FileMapping.mapReadWrite(file.path, as: Int64.self, count: 512, createOrExtend: true)
            #expect(mapped.buffer.count == 512)
            for i in mapped.buffer.indices { mapped.buffer[i] = Int64(i) - 256 }
            try mapped.flush()
            try mapped.flush(waiting: false)
        }
        let contents = file.contents
        #expect(contents.count == 4096)
        let values = contents.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        #expect(values.first == -256 && values.last == 255)
    }

    @Test("takeBuffer moves the elements out: the file stays mapped while the buffer lives, writes reach it")
    func takeBuffer() throws {
        let file = TemporaryFile(bytes: [UInt8](repeating: 0, count: 64))
        do {
            let mapped = try FileMapping.mapReadWrite(file.path, as: UInt8.self)
            var elements = mapped.takeBuffer()
            #expect(elements.count == 64 && elements.backing.backend == .file)
            elements[63] = 7
        }
        #expect(file.contents.last == 7)
    }

    @Test("a missing file, a file too short, and a size that is not whole elements are typed errors")
    func errors() throws {
        #expect(throws: MmapError.fileUnavailable(path: "/nonexistent/ziggy", errno: .noSuchFileOrDirectory)) {
            _ = try FileMapping.mapReadOnly("/nonexistent/ziggy", as: UInt8.self)
        }
        let file = TemporaryFile(bytes: Array(repeating: 1, count: 10))
        #expect(throws: MmapError.fileTooShort(path: file.path, fileSize: 10, required: 16)) {
            _ = try FileMapping.mapReadOnly(file.path, as: UInt64.self, count: 2)
        }
        #expect(throws: MmapError.fileSizeNotMultiple(path: file.path, fileSize: 10, stride: 4)) {
            _ = try FileMapping.mapReadOnly(file.path, as: UInt32.self)
        }
        #expect(throws: MmapError.self) { _ = try FileMapping.mapReadOnly(file.path, as: UInt32.self, offset: 3) }
        #expect(throws: MmapError.request(.negativeCount(-1, element: "UInt8"))) {
            _ = try FileMapping.mapReadOnly(file.path, as: UInt8.self, count: -1)
        }
        let empty = try FileMapping.mapReadOnly(file.path, as: UInt8.self, count: 0)
        #expect(empty.span.isEmpty == true)
    }

    // Flushing memory that is not a read-write file mapping no longer compiles: `flush(waiting:)`
    // is a member of `FileMapping.ReadWriteBuffer` only (Tests/CompileFail/flush-needs-read-write-mapping.swift).
    @Test("flush belongs to read-write file mappings: an empty one flushes nothing; writes reach the file once it ends")
    func flushOnlyOnReadWriteMappings() throws {
        let file = TemporaryFile(bytes: Array(repeating: 9, count: 4096))
        let empty = try FileMapping.mapReadWrite(file.path, as: UInt8.self, count: 0)
        #expect(empty.buffer.isEmpty && empty.buffer.backing.backend == .file)
        try empty.flush()
        var mapped = try FileMapping.mapReadWrite(file.path, as: UInt8.self)
        try mapped.flush(waiting: false)
        mapped.buffer[4095] = 1
        #expect(mapped.buffer.backing.backend == .file && mapped.buffer.count == 4096)
        _ = consume mapped
        #expect(file.contents.last == 1)
    }

    @Test("a file mapping is unmapped when its buffer ends")
    func unmapped() throws {
        let file = TemporaryFile(bytes: Array(repeating: 3, count: 3 * MiB))
        var start: UInt = 0
        do {
            let mapped = try FileMapping.mapReadOnly(file.path, as: UInt8.self)
            start = mapped.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
            #expect(ProcessState.readMappings().contains { $0.start == start && $0.path == file.path })
        }
        #expect(!ProcessState.readMappings().contains { $0.start == start && $0.path == file.path })
    }

    @Test("mapReadOnly(populate: true) reporting .kernel population has every page resident")
    func filePopulateIsReal() throws {
        let length = 16 * MiB
        let file = TemporaryFile(bytes: [UInt8](repeating: 0x5A, count: length))
        // Drop the file from the page cache (clean pages after fsync), so residency has to be earned.
        let fd = open(file.path, O_RDONLY)
        try #require(fd >= 0)
        fsync(fd)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
        let mapped = try FileMapping.mapReadOnly(file.path, as: UInt8.self, populate: true)
        let reported = mapped.backing.mapping?.populate
        let (rss, cached) = mapped.withUnsafeBufferPointer { pointer -> (Int, Int) in
            let report = PageSize.Report.measure(address: UnsafeRawPointer(pointer.baseAddress!), byteCount: pointer.count)
            return (report.regions.reduce(0) { $0 + $1.residentBytes }, report.rangeResidentBytes ?? -1)
        }
        print(
            "populate: true -> backing.mapping?.populate = \(reported.printed); mapped (smaps Rss) \(rss) B of \(length) B; "
                + "in page cache (mincore) \(cached) B")
        if let reported, reported != .none {
            #expect(rss >= length, "reports \(reported) population but only \(rss) of \(length) B are mapped in")
        }
    }
}
