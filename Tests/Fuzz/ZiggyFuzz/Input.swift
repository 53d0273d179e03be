// The fuzz input format (what the seed corpus in Tests/Fuzz/corpus is written in; see
// Tests/Fuzz/make-corpus for the encoder).
//
//     input := op*                        at most 16 ops run; bytes past the end read as 0
//     op    := kind:u8 body               kind % 5: 0 request, 1 core, 2 mmap, 3 file, 4 fault
//     int   := tag:u8 [payload]
//              0x00…0x3F  tag − 0x20      small values −32…31
//              0x40…0x7F  specials[tag − 0x40]   (0, ±1, Int.min, Int.max − k, 1 GiB, 2^47, …)
//              0x80…0xFF  8 bytes follow: a little-endian two's-complement Int
//     type  := u8 % 7: 0 One (stride 1, align 1), 1 Three (3, 1), 2 Eight (8, 8),
//              3 TwentyFour (24, 8), 4 SixtyFour (64, 16), 5 Boxed (non-trivial, 8),
//              6 Nothing (empty struct: size 0, stride 1)
//
//     request body := type flags:u8 count:int [alignment:int if flags&1]
//         flags: 1 explicit alignment, 2 zeroed, 4 the raw init(byteCount:alignment:) (bytes)
//     core body    := allocator:u8 type flags:u8 count:int [alignment:int if flags&1] [chunk:int if allocator uses an arena]
//         allocator % 5: 0 SystemMemoryAllocator, 1 ScopedAllocator(chunkByteCount:),
//                        2 Debug(System), 3 Debug(Scoped), 4 Debug(System) without scribbling
//         flags: 1 explicit alignment, 2 zeroed, 4 a second buffer while the first is alive
//     mmap body    := pageSize:u8 fallback:u8 [list:u8 if fallback%4 == 2] type flags:u8 count:int
//                     [alignment:int if flags&1] [threads:int if populate is parallel]
//         pageSize % 4: base, THP, hugetlb 2 MiB, hugetlb 1 GiB (PageSize.allCases order)
//         fallback % 4: 0 strict, 1 anySmaller, 2 fallback(to: list), 3 fallback(to: [])
//         list: count = list & 3, then page sizes (list >> 2) & 3, (list >> 4) & 3, (list >> 6) & 3
//         flags: 1 explicit alignment, 2 zeroed, 4|8 populate (0 none, 4 kernel, 8 parallel, 12 none),
//                16 reuse pool (free, allocate again), 32 Debug wrapper, 64 a second buffer at once
//     file body    := target:u8 type flags:u8 count:int offset:int
//         target % 8: 0 data file (12,411 B), 1 empty file, 2 scratch file (100 B, may grow),
//                     3 FIFO, 4 /dev/zero, 5 a directory, 6 /proc/self/maps, 7 missing file
//         flags: 1 count given (else nil: the whole file), 2 read-write, 4 createOrExtend (read-write),
//                8 populate
//     fault body   := call:u8 errno:u8
//         the next mapping (mmap or file) operation's (1 + call % 24)-th kernel-seam call, munmap
//         excepted, fails with errno % 8 of ENOMEM, EINVAL, EAGAIN, EFAULT, EPERM, EIO, EINTR, EBUSY
//         (valid requests may then fail, with a typed error and nothing left behind)
//
// Values that would allocate more than the caps (32 KiB through malloc, 8 MiB through mmap, 2 MiB
// when populated, 8 MiB of file growth) are reduced modulo the cap when they are valid requests;
// invalid ones and ones of 2 TiB or more (which must fail fast) are passed on unchanged.

/// Reads fuzz bytes as the format above describes; never fails (missing bytes are zeros).
struct FuzzInput {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { position >= bytes.count }

    mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func int() -> Int {
        let tag = byte()
        switch tag {
        case 0x00..<0x40:
            return Int(tag) - 0x20
        case 0x40..<0x80:
            return FuzzInput.specials[Int(tag - 0x40) % FuzzInput.specials.count]
        default:
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 8) { value |= UInt64(byte()) << UInt64(shift) }
            return Int(bitPattern: UInt(value))
        }
    }

    /// The hostile values the issue lists, reachable with one tag byte (index = tag − 0x40).
    static let specials: [Int] = [
        0, 1, -1, Int.min, Int.max, Int.max - 1, Int.max - 7, Int.max - 32,  // 0x40…
        Int.max - 4095, Int.min + 1, 1 << 30, (1 << 30) + 1, 1 << 31, 1 << 47, (1 << 47) + 1, 1 << 48,  // 0x48…
        1 << 62, 4096, 4095, 2 << 20, (2 << 20) + 1, 8 << 20, Int.max / 3, Int.max / 8,  // 0x50…
        Int.max / 24, Int.max / 64, Int.max / 3 + 1, Int.max / 8 + 1, Int.max / 24 + 1, Int.max / 64 + 1,
        (1 << 47) / 3, (1 << 47) / 3 + 1,  // 0x58…
        (1 << 47) / 8 + 1, (1 << 47) / 24 + 1, (1 << 47) / 64 + 1, 3, 6, 24, 48, 12345,  // 0x60…
        -4096, 1 << 20, 64 << 20, 2 << 30, 12411, 12410, 12412, 12288,  // 0x68…
        (2 << 20) - 1, 1 << 41, (1 << 47) - 4096, Int.max - (1 << 30), Int.max - 12411, 16, 64, -(1 << 30),  // 0x70…
        Int.min / 2, 1 << 29, 3 << 20, 12400, 100, 99, 101, 8,  // 0x78…
    ]
}
