import Glibc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel
import ZiggySupport

@testable import ZiggyMmap

// Helpers for StressTests.swift: a seeded generator, real threads, per-buffer byte patterns that
// are cheap to write and check in a debug build, and which anonymous mappings of a process-state
// snapshot glibc's thread stacks and malloc heaps do not explain.

/// The byte pattern of one thread's buffers: 128 KiB of seeded noise, read-only once made (so
/// any thread may verify any buffer).
///
/// A buffer's pattern is the noise from its own `phase` on, repeating every 64 KiB, with the
/// 8 bytes at the start of every 4 KiB block replaced by `tag + block index` (tags are unique per
/// buffer). Two buffers that share memory, a block written at the wrong offset, a scribble or a
/// zero page all show. Writing and checking go through memcpy/memcmp, so a 4 MiB buffer costs
/// about a millisecond even in a debug build.
final class PatternSource: @unchecked Sendable {
    static let blockBytes = 4096
    static let period = 64 << 10
    let noise: UnsafeMutableRawPointer
    nonisolated(unsafe) static let zeroBlock: UnsafeMutableRawPointer = {
        let block = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 64)
        memset(block, 0, blockBytes)
        return block
    }()

    init(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        noise = UnsafeMutableRawPointer.allocate(byteCount: 2 * PatternSource.period, alignment: 64)
        let words = noise.bindMemory(to: UInt64.self, capacity: 2 * PatternSource.period / 8)
        for i in 0..<(2 * PatternSource.period / 8) { words[i] = random.next() }
    }

    deinit { noise.deallocate() }

    /// A phase for a new buffer.
    static func phase(for tag: UInt64) -> Int { Int(truncatingIfNeeded: (tag &* 0x9E37_79B9_7F4A_7C15) >> 40) % period }

    func fill(_ base: UnsafeMutableRawPointer, byteCount: Int, tag: UInt64, phase: Int) {
        var offset = 0
        var block: UInt64 = 0
        while offset < byteCount {
            let length = min(PatternSource.blockBytes, byteCount - offset)
            memcpy(base + offset, noise + phase + offset % PatternSource.period, length)
            if length >= 8 { (base + offset).storeBytes(of: tag &+ block, as: UInt64.self) }
            offset += length
            block += 1
        }
    }

    /// The byte offset of the first 4 KiB block that differs from the pattern, or nil when intact.
    func firstMismatch(_ base: UnsafeRawPointer, byteCount: Int, tag: UInt64, phase: Int) -> Int? {
        var offset = 0
        var block: UInt64 = 0
        while offset < byteCount {
            let length = min(PatternSource.blockBytes, byteCount - offset)
            let expected = noise + phase + offset % PatternSource.period
            if length >= 8 {
                if (base + offset).loadUnaligned(as: UInt64.self) != tag &+ block { return offset }
                if memcmp(base + offset + 8, expected + 8, length - 8) != 0 { return offset }
            } else if memcmp(base + offset, expected, length) != 0 {
                return offset
            }
            offset += length
            block += 1
        }
        return nil
    }

    /// The byte offset of the first non-zero 4 KiB block, or nil when every byte is zero.
    static func firstNonZero(_ base: UnsafeRawPointer, byteCount: Int) -> Int? {
        var offset = 0
        while offset < byteCount {
            let length = min(blockBytes, byteCount - offset)
            if memcmp(base + offset, zeroBlock, length) != 0 { return offset }
            offset += length
        }
        return nil
    }
}

/// The stress test's reading of a `ProcessState` snapshot (ZiggySupport): which anonymous
/// mappings glibc's own thread stacks and malloc heaps do not explain.
extension ProcessState {
    /// Anonymous mappings that are not glibc's own thread stacks or malloc heaps:
    /// - a thread stack is a read-write mapping directly above a small inaccessible guard
    ///   mapping (glibc maps stack and guard together, then makes the guard `---p`);
    /// - a malloc arena heap (`HEAP_MAX_SIZE` = 64 MiB on 64-bit) is a run of adjacent mappings
    ///   that exactly tiles a 64 MiB-aligned 64 MiB window, read-write part first.
    /// Our allocators only make read-write mappings, never inaccessible ones, and never 64 MiB
    /// windows split into a read-write and a `---p` part, so nothing of ours is filtered out by
    /// these rules; a leaked mapping adjacent to a stack or heap merges with it, breaks the
    /// shape, and shows here.
    ///
    /// Anonymous here means no file behind it and no kernel-given name such as [heap] or [stack]
    /// (narrower than `Mapping.isAnonymous`); private hugetlb mappings count too (the kernel shows
    /// them as a deleted `/anon_hugepage`).
    func unexplainedAnonymous() -> [Mapping] {
        let entries = mappings ?? []
        let isUnnamedAnonymous = { (entry: Mapping) in entry.inode == 0 && entry.name.isEmpty }
        let isAnonymous = { (entry: Mapping) in isUnnamedAnonymous(entry) || entry.name.hasPrefix("/anon_hugepage") }
        let heapWindow: UInt = 64 << 20
        var explained = Set<Int>()
        for (index, entry) in entries.enumerated() where isUnnamedAnonymous(entry) && entry.permissions.hasPrefix("rw") {
            // Thread stack: read-write directly above a `---p` guard of at most 1 MiB.
            if index > 0, case let below = entries[index - 1], isUnnamedAnonymous(below), below.end == entry.start,
                below.permissions.hasPrefix("---"), below.byteCount <= 1 << 20
            {
                explained.formUnion([index - 1, index])
            }
            // Malloc heap: adjacent mappings, read-write first, tiling [k·64 MiB, (k+1)·64 MiB).
            if entry.start % heapWindow == 0 {
                var last = index
                while last + 1 < entries.count, isUnnamedAnonymous(entries[last + 1]),
                    entries[last + 1].start == entries[last].end, entries[last].end < entry.start + heapWindow
                {
                    last += 1
                }
                if entries[last].end == entry.start + heapWindow { explained.formUnion(index...last) }
            }
        }
        return entries.indices.filter { isAnonymous(entries[$0]) && !explained.contains($0) }.map { entries[$0] }
    }
}

extension ProcessState.Mapping {
    /// The line a stress failure prints for a leftover mapping (sizes in KiB).
    var stressDescription: String {
        "0x\(String(start, radix: 16))-0x\(String(end, radix: 16)) \(permissions) \(byteCount >> 10) KiB\(name.isEmpty ? "" : " " + name)"
    }
}

/// The sanitizer runtime linked into this process, if any. Sanitizers replace malloc and map
/// their own shadow and allocator regions, so the /proc/self/maps comparison only means something
/// without one.
let activeSanitizer: String? = {
    if dlsym(nil, "__asan_init") != nil { return "AddressSanitizer" }
    if dlsym(nil, "__tsan_init") != nil { return "ThreadSanitizer" }
    return nil
}()

/// Reads an integer (decimal, or hex with 0x) from the environment; nil when unset or not a number.
func environmentInt(_ name: String) -> Int? {
    guard let value = getenv(name) else { return nil }
    let text = String(cString: value)
    if text.hasPrefix("0x") || text.hasPrefix("0X") {
        return UInt64(text.dropFirst(2), radix: 16).map { Int(bitPattern: UInt($0)) }
    }
    return Int(text)
}
