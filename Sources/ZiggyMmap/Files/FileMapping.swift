import Logging
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

/// Files mapped into memory as buffers: data sets larger than RAM, paged in on demand.
///
/// Read-only mappings come as ``FileMapping/ReadOnlyBuffer`` (reads only); read-write ones as a
/// ``FileMapping/ReadWriteBuffer``, whose ``UnmanagedBuffer`` writes reach the file (`MAP_SHARED`;
/// call ``FileMapping/ReadWriteBuffer/flush(waiting:)`` to make them durable). Unmapped when the
/// buffer ends.
///
/// **What can be mapped.** Regular files only. A FIFO, socket, character or block device or
/// directory is ``MmapError/notMappable(path:reason:)`` at once — the file is opened
/// non-blocking, so a FIFO without a writer cannot hang the call — and so are procfs, sysfs and
/// debugfs files, whose reported size (often 0) says nothing about their contents. An empty file,
/// or an offset at the end of a file, maps as an empty buffer that reports itself as a file
/// mapping; an offset past the end is ``MmapError/fileTooShort(path:fileSize:required:)``.
///
/// **Truncation.** Touching a page of a mapping that another process has cut off by truncating
/// the file raises SIGBUS — the kernel's rule for every shared file mapping, which populating
/// ahead does not prevent. If other processes may shrink the file, copy the data out, or agree on
/// a lock (`flock`) or a lease (`fcntl(F_SETLEASE)`) for as long as the mapping lives.
public enum FileMapping {
    /// Maps `path` read-only as elements of `type`.
    ///
    /// - Parameters:
    ///   - path: The file to map.
    ///   - type: The element type: `BitwiseCopyable` (checked by the compiler), or a
    ///     ``TrivialElement`` through the other overload (checked at run time).
    ///   - count: Elements to map; nil maps the whole file after `offset`, which must then be a
    ///     whole number of elements.
    ///   - offset: Byte offset into the file (any value aligned for `T`).
    ///   - populate: Read every page in before returning (`MADV_POPULATE_READ`, or one read per
    ///     page on kernels before 5.14); the report says `.kernel` only when that was done.
    /// - Throws: ``MmapError/fileUnavailable(path:errno:)``, ``MmapError/notMappable(path:reason:)``,
    ///   ``MmapError/fileTooShort(path:fileSize:required:)``, ``MmapError/fileSizeNotMultiple(path:fileSize:stride:)``,
    ///   ``MmapError/request(_:)`` for a bad count, or a kernel error.
    public static func mapReadOnly<T: BitwiseCopyable>(
        _ path: String, as type: T.Type, count: Int? = nil, offset: Int = 0, populate: Bool = false
    ) throws(MmapError) -> FileMapping.ReadOnlyBuffer<T> {
        FileMapping.ReadOnlyBuffer(
            try map(
                path, T.self, count: count, offset: offset, writable: false, extend: false,
                populate: populate))
    }

    /// Maps `path` read-only as elements of a ``TrivialElement`` type (such as `Complex<Double>`),
    /// whose layout is checked first: a type that only claims to be trivial throws
    /// ``MmapError/request(_:)`` with ``AllocationError/nonTrivialElement(_:)``, before the file is
    /// opened. Otherwise as the `BitwiseCopyable` form.
    @_disfavoredOverload
    public static func mapReadOnly<T: TrivialElement>(
        _ path: String, as type: T.Type, count: Int? = nil, offset: Int = 0, populate: Bool = false
    ) throws(MmapError) -> FileMapping.ReadOnlyBuffer<T> {
        FileMapping.ReadOnlyBuffer(
            try map(
                path, T.self, count: count, offset: offset, writable: false, extend: false,
                populate: populate))
    }

    /// Maps `path` read-write (shared with the file) as elements of `type`.
    ///
    /// - Parameters:
    ///   - path: The file to map.
    ///   - type: The element type: `BitwiseCopyable` (checked by the compiler), or a
    ///     ``TrivialElement`` through the other overload (checked at run time).
    ///   - count: Elements to map; nil maps the whole file after `offset`.
    ///   - offset: Byte offset into the file (any value aligned for `T`).
    ///   - createOrExtend: Create the file if missing and grow it to hold `count` elements.
    ///   - populate: Read every page in before returning (reading, not writing: writing would
    ///     dirty every page of the file).
    public static func mapReadWrite<T: BitwiseCopyable>(
        _ path: String, as type: T.Type, count: Int? = nil, offset: Int = 0, createOrExtend: Bool = false,
        populate: Bool = false
    ) throws(MmapError) -> ReadWriteBuffer<T> {
        ReadWriteBuffer(
            buffer: try map(path, T.self, count: count, offset: offset, writable: true, extend: createOrExtend, populate: populate))
    }

    /// Maps `path` read-write as elements of a ``TrivialElement`` type, whose layout is checked
    /// first (``AllocationError/nonTrivialElement(_:)`` inside ``MmapError/request(_:)``, before the
    /// file is opened or created). Otherwise as the `BitwiseCopyable` form.
    @_disfavoredOverload
    public static func mapReadWrite<T: TrivialElement>(
        _ path: String, as type: T.Type, count: Int? = nil, offset: Int = 0, createOrExtend: Bool = false,
        populate: Bool = false
    ) throws(MmapError) -> ReadWriteBuffer<T> {
        ReadWriteBuffer(
            buffer: try map(path, T.self, count: count, offset: offset, writable: true, extend: createOrExtend, populate: populate))
    }

    static func map<T>(
        _ path: String, _ type: T.Type, count: Int?, offset: Int, writable: Bool, extend: Bool, populate: Bool
    ) throws(MmapError) -> UnmanagedBuffer<T> {
        // Everything that can be checked without the file is checked first, so a bad request
        // creates nothing.
        let stride = MemoryLayout<T>.stride
        guard _isPOD(T.self) else { throw .request(.nonTrivialElement(String(describing: T.self))) }
        guard !path.utf8.contains(0) else {
            throw .invalidArgument("file path \(path.debugDescription) contains a NUL byte; the kernel would see only its start")
        }
        guard offset >= 0, offset % MemoryLayout<T>.alignment == 0 else {
            throw .invalidArgument("file offset \(offset) is negative or not aligned for \(T.self)")
        }
        if extend && !writable { throw .invalidArgument("createOrExtend needs a read-write mapping") }
        var wantedEnd: Int?
        if let count {
            let needed = try validatedBytes(T.self, count)
            let (end, overflow) = offset.addingReportingOverflow(needed)
            guard !overflow else { throw .invalidArgument("file offset \(offset) + \(needed) B overflows; map a smaller range") }
            wantedEnd = end
        }

        let file = try OpenedFile(path, writable: writable, create: extend)
        defer { file.close() }
        var size = try mappableSize(file.fd, path)
        let originalSize = size
        // A failure from here on leaves the file as it was: created files are removed, grown ones
        // shrunk back.
        func undo() { file.undo(grownFrom: size != originalSize ? originalSize : nil) }

        let elements: Int
        if let wantedEnd, let count {
            if size < wantedEnd {
                guard extend else { throw .fileTooShort(path: path, fileSize: size, required: wantedEnd) }
                if case .failure(let error) = Kernel.truncate(file.fd, wantedEnd) {
                    undo()
                    throw .kernel(call: "ftruncate", errno: error, request: "growing \(path) to \(wantedEnd) B")
                }
                size = wantedEnd
            }
            elements = count
        } else {
            guard offset <= size else { throw .fileTooShort(path: path, fileSize: size, required: offset) }
            guard (size - offset) % stride == 0 else {
                throw .fileSizeNotMultiple(path: path, fileSize: size - offset, stride: stride)
            }
            elements = (size - offset) / stride
            _ = try validatedBytes(T.self, elements)
        }
        if elements == 0 {
            let record = FileMappingRecord(.init(base: nil, length: 0, path: path, writable: writable, populated: populate))
            return UnmanagedBuffer(
                _base: UnsafeMutableRawPointer(bitPattern: MemoryLayout<T>.alignment)!, count: 0,
                deallocator: .owner(record))
        }

        let page = PageSize.basePageByteCount
        let mapOffset = offset / page * page
        let delta = offset - mapOffset
        let length = delta + elements * stride
        let base: UnsafeMutableRawPointer
        switch Kernel.mmap(nil, length, writable ? .readWrite : .read, .shared, file.fd, mapOffset) {
        case .success(let pointer): base = pointer
        case .failure(let error):
            undo()
            throw .kernel(call: "mmap", errno: error, request: "mapping \(length) B of \(path) at offset \(mapOffset)")
        }
        if populate, let error = populateForReading(base, length) {
            _ = Kernel.munmap(base, length)
            undo()
            throw .kernel(call: "madvise(MADV_POPULATE_READ)", errno: error, request: "reading in \(path)")
        }
        let record = FileMappingRecord(.init(base: base, length: length, path: path, writable: writable, populated: populate))
        return UnmanagedBuffer(_base: base + delta, count: elements, deallocator: .owner(record))
    }

    /// `count × stride`, checked as any allocation is (negative, overflowing, beyond the address space).
    private static func validatedBytes<T>(_ type: T.Type, _ count: Int) throws(MmapError) -> Int {
        do throws(AllocationError) {
            return try AllocationRequest(T.self, count: count, site: LeakReport.CallSite()).byteCount
        } catch {
            throw .request(error)
        }
    }

    /// The size of an open file that may be mapped, or why it may not.
    private static func mappableSize(_ fd: Int32, _ path: String) throws(MmapError) -> Int {
        let info: (type: UInt32, size: Int)
        switch Kernel.fileTypeAndSize(fd) {
        case .success(let value): info = value
        case .failure(let error): throw .kernel(call: "fstat", errno: error, request: "sizing \(path)")
        }
        guard info.type == KernelConstants.S_IFREG else { throw notRegular(path, info.type) }
        // A file whose file system is unknown is not mapped: it may be a pseudo file, whose mapping
        // would silently be empty (or fault).
        let magic: Int64
        switch Kernel.fileSystemMagic(fd) {
        case .success(let value): magic = value
        case .failure(let error): throw .kernel(call: "fstatfs", errno: error, request: "finding the file system of \(path)")
        }
        if KernelConstants.pseudoFileSystems.contains(magic) {
            throw .notMappable(
                path: path,
                reason: "it is a file of a pseudo file system (procfs/sysfs, cgroupfs …), whose "
                    + "size (\(info.size) B) says nothing about its contents; read it instead")
        }
        return info.size
    }

    static func notRegular(_ path: String, _ type: UInt32) -> MmapError {
        let kinds: [UInt32: String] = [
            KernelConstants.S_IFIFO: "a FIFO", KernelConstants.S_IFSOCK: "a socket", KernelConstants.S_IFDIR: "a directory",
            KernelConstants.S_IFCHR: "a character device", KernelConstants.S_IFBLK: "a block device",
        ]
        return .notMappable(path: path, reason: "it is \(kinds[type] ?? "not a regular file"); only regular files can be mapped")
    }

    /// Faults every page of a shared file mapping in for reading; nil on success.
    private static func populateForReading(_ base: UnsafeMutableRawPointer, _ length: Int) -> Errno? {
        switch Kernel.madvise(base, length, KernelConstants.MADV_POPULATE_READ) {
        case .success:
            return nil
        case .failure(let error) where error == .invalidArgument:
            // Before Linux 5.14: read one byte per page instead, which faults each page in.
            var checksum: UInt8 = 0
            for offset in stride(from: 0, to: length, by: PageSize.basePageByteCount) {
                checksum &+= base.load(fromByteOffset: offset, as: UInt8.self)
            }
            withExtendedLifetime(checksum) {}
            return nil
        case .failure(let error):
            return error
        }
    }
}

/// A file opened for mapping, non-blocking (a FIFO cannot hang the open), remembering whether this
/// call created it so that a failure can remove it again.
private struct OpenedFile {
    let fd: Int32
    let path: String
    let created: Bool

    init(_ path: String, writable: Bool, create: Bool) throws(MmapError) {
        self.path = path
        let access: Kernel.OpenOptions = [writable ? .readWrite : .readOnly, .nonblocking]
        if create, case .success(let fd) = Kernel.open(path, access.union([.create, .exclusive])) {
            self.fd = fd
            created = true
            return
        }
        switch Kernel.open(path, access) {
        case .success(let fd):
            self.fd = fd
            created = false
        case .failure(let error):
            // open(2) refuses some non-regular files itself (a socket: ENXIO, a directory opened
            // for writing: EISDIR); say what the path is rather than only why the open failed.
            if case .success(let info) = Kernel.pathTypeAndSize(path), info.type != KernelConstants.S_IFREG {
                throw FileMapping.notRegular(path, info.type)
            }
            throw .fileUnavailable(path: path, errno: error)
        }
    }

    /// Leaves the file as it was before this call: removed if it created it, else shrunk back.
    func undo(grownFrom size: Int?) {
        if created {
            _ = Kernel.removeFile(path)
        } else if let size {
            _ = Kernel.truncate(fd, size)
        }
    }

    func close() { Kernel.close(fd) }
}

/// One file mapping: unmapped when its buffer ends.
final class FileMappingRecord: BufferOwner, @unchecked Sendable {
    /// What was mapped (nil `base`: an empty file, nothing mapped).
    struct File {
        let base: UnsafeMutableRawPointer?
        let length: Int
        let path: String
        let writable: Bool
        let populated: Bool
    }

    let file: File

    init(_ file: File) { self.file = file }

    override func release(_ unused: UnsafeMutableRawPointer, byteCount: Int) {
        if let base = file.base { _ = MappingRecord.unmap(base, file.length, what: "\(file.path) (\(file.length) B)") }
    }

    /// A copy would not be the file: writes would stop reaching it (read-write), or a read-only
    /// view would become writable memory.
    override var resizeRefusal: String? {
        "a file mapping of \(file.path) stands for the file, which a resized copy would not; "
            + "map the file again (FileMapping) with the count you need"
    }

    override func backing(_ base: UnsafeMutableRawPointer, byteCount: Int) -> BufferBacking {
        BufferBacking(
            backend: .file, alignment: PageSize.basePageByteCount, reservedByteCount: file.length,
            details: MappingDetailsRecord(
                MappingDetails(
                    requestedPageSize: nil, obtainedPageSize: .base,
                    populate: file.populated ? .kernel : .none, filePath: file.path)))
    }
}

extension FileMapping {
    /// A read-write mapping of a file: its elements as a ``UnmanagedBuffer`` (every element
    /// access, span and pointer the buffer offers; changes go to the file through the page cache)
    /// and ``flush(waiting:)``, which makes them durable. Unmaps the file when it ends.
    ///
    /// Noncopyable. ``takeBuffer()`` moves the buffer out when flushing is no longer needed; the
    /// file stays mapped as long as that buffer lives.
    public struct ReadWriteBuffer<Element>: ~Copyable {
        /// The mapped elements.
        public var buffer: UnmanagedBuffer<Element>
        let file: FileMappingRecord.File?

        init(buffer: consuming UnmanagedBuffer<Element>) {
            file = buffer.owner(ofType: FileMappingRecord.self)?.file
            self.buffer = buffer
        }

        /// Ends the mapping's read-write view and hands over its buffer, which keeps the file
        /// mapped until it ends (changes still reach the file through the page cache; only
        /// ``flush(waiting:)`` is gone).
        public consuming func takeBuffer() -> UnmanagedBuffer<Element> { buffer }

        /// Writes the changes back to the file (`msync`); with `waiting` (the default) returns
        /// when they are on storage. Throws ``MmapError/kernel(call:errno:request:)`` when the
        /// kernel refuses.
        public func flush(waiting: Bool = true) throws(MmapError) {
            guard let file, let base = file.base else { return }
            if case .failure(let error) = Kernel.msync(base, file.length, waiting: waiting) {
                throw .kernel(call: "msync", errno: error, request: "flushing \(file.length) B to \(file.path)")
            }
        }
    }
}

extension FileMapping.ReadWriteBuffer: @unchecked Sendable where Element: Sendable {}
