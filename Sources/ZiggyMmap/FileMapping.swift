import Glibc

/// Files mapped into memory as buffers: data sets larger than RAM, paged in on demand.
///
/// Read-only mappings come as ``ReadOnlyMappedBuffer`` (spans only, no writes); read-write ones
/// as an ``UnmanagedBuffer`` whose writes reach the file (`MAP_SHARED`; call
/// ``UnmanagedBuffer/flush(waiting:)`` to make them durable). Unmapped when the buffer ends.
public enum FileMapping {
    /// Maps `path` read-only as elements of `type`.
    ///
    /// - Parameters:
    ///   - count: Elements to map; nil maps the whole file after `offset`, which must then be a
    ///     whole number of elements.
    ///   - offset: Byte offset into the file (any value aligned for `T`).
    ///   - populate: Read the pages in before returning.
    /// - Throws: ``AllocationError/fileUnavailable(path:errno:)``, ``AllocationError/fileTooShort(path:fileSize:required:)``,
    ///   ``AllocationError/fileSizeNotMultiple(path:fileSize:stride:)``, or a kernel error.
    public static func mapReadOnly<T: BitwiseCopyable>(
        _ path: String, as type: T.Type, count: Int? = nil, offset: Int = 0, populate: Bool = false
    ) throws(AllocationError) -> ReadOnlyMappedBuffer<T> {
        let buffer = try map(path, T.self, count: count, offset: offset, writable: false, extend: false, populate: populate)
        return ReadOnlyMappedBuffer(buffer)
    }

    /// Maps `path` read-write (shared with the file) as elements of `type`.
    ///
    /// - Parameters:
    ///   - count: Elements to map; nil maps the whole file after `offset`.
    ///   - createOrExtend: Create the file if missing and grow it to hold `count` elements.
    public static func mapReadWrite<T: BitwiseCopyable>(
        _ path: String, as type: T.Type, count: Int? = nil, offset: Int = 0, createOrExtend: Bool = false,
        populate: Bool = false
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        try map(path, T.self, count: count, offset: offset, writable: true, extend: createOrExtend, populate: populate)
    }

    static func map<T: BitwiseCopyable>(
        _ path: String, _ type: T.Type, count: Int?, offset: Int, writable: Bool, extend: Bool, populate: Bool
    ) throws(AllocationError) -> UnmanagedBuffer<T> {
        let stride = MemoryLayout<T>.stride
        guard offset >= 0, offset % MemoryLayout<T>.alignment == 0 else {
            throw .invalidArgument("file offset \(offset) is negative or not aligned for \(T.self)")
        }
        if let count {
            _ = try AllocationRequest(T.self, count: count, site: CallSite())  // validates count × stride
            if extend && !writable { throw .invalidArgument("createOrExtend needs a read-write mapping") }
        }
        var flags = writable ? O_RDWR : O_RDONLY
        if extend { flags |= O_CREAT }
        let fd: Int32
        switch Kernel.open(path, flags) {
        case .success(let descriptor): fd = descriptor
        case .failure(let error): throw .fileUnavailable(path: path, errno: error.code)
        }
        defer { Kernel.close(fd) }
        var size: Int
        switch Kernel.fileSize(fd) {
        case .success(let bytes): size = bytes
        case .failure(let error): throw .kernel(call: "fstat", errno: error.code, request: "sizing \(path)")
        }
        let available = max(0, size - offset)
        let elements: Int
        if let count {
            let needed = count * stride
            if available < needed {
                guard extend else { throw .fileTooShort(path: path, fileSize: size, required: offset + needed) }
                if case .failure(let error) = Kernel.truncate(fd, offset + needed) {
                    throw .kernel(call: "ftruncate", errno: error.code, request: "growing \(path) to \(offset + needed) B")
                }
                size = offset + needed
            }
            elements = count
        } else {
            guard available % stride == 0 else { throw .fileSizeNotMultiple(path: path, fileSize: available, stride: stride) }
            elements = available / stride
        }
        if elements == 0 { return UnmanagedBuffer() }

        let page = PageSize.basePageByteCount
        let mapOffset = offset / page * page
        let delta = offset - mapOffset
        let length = delta + elements * stride
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        let base: UnsafeMutableRawPointer
        switch Kernel.mmap(nil, length, protection, MAP_SHARED, fd, mapOffset) {
        case .success(let pointer): base = pointer
        case .failure(let error):
            throw .kernel(call: "mmap", errno: error.code, request: "mapping \(length) B of \(path)")
        }
        if populate, case .failure(let error) = Kernel.madvise(base, length, 3 /* MADV_WILLNEED */) {
            _ = Kernel.munmap(base, length)
            throw .kernel(call: "madvise(will-need)", errno: error.code, request: "reading in \(path)")
        }
        let record = FileMappingRecord(base: base, length: length, path: path, writable: writable,
                                       populated: populate)
        return UnmanagedBuffer(unsafeBase: (base + delta).bindMemory(to: T.self, capacity: elements), count: elements,
                               deallocator: .owner(record))
    }
}

/// One file mapping: unmapped when its buffer ends.
final class FileMappingRecord: BufferOwner, @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let length: Int
    let path: String
    let writable: Bool
    let populated: Bool

    init(base: UnsafeMutableRawPointer, length: Int, path: String, writable: Bool, populated: Bool) {
        self.base = base
        self.length = length
        self.path = path
        self.writable = writable
        self.populated = populated
    }

    override func release(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        if case .failure(let error) = Kernel.munmap(self.base, length) {
            MappingEngine.logger.error("munmap of \(path) (\(length) B) failed with \(error); the mapping stays")
        }
    }

    override func backing(_ base: UnsafeMutableRawPointer, byteCount: Int) -> BufferBacking {
        var backing = BufferBacking(backend: .file, customName: nil, alignment: PageSize.basePageByteCount,
                                    reservedByteCount: length, obtainedPageSize: .base)
        backing.populate = populated ? .kernel : .none
        return backing
    }
}

extension UnmanagedBuffer {
    /// Writes a file mapping's changes back to the file (`msync`); with `waiting` (the default)
    /// returns when they are on storage. Throws for buffers that are not read-write file mappings.
    public func flush(waiting: Bool = true) throws(AllocationError) {
        guard let record = owner(ofType: FileMappingRecord.self), record.writable else {
            throw .invalidArgument("flush needs a read-write FileMapping buffer; this one is \(backing.backend.rawValue) memory")
        }
        if case .failure(let error) = Kernel.msync(record.base, record.length, waiting ? MS_SYNC : MS_ASYNC) {
            throw .kernel(call: "msync", errno: error.code, request: "flushing \(record.length) B to \(record.path)")
        }
    }
}
