import Glibc
import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

// Part of the suite "File mappings": what a file mapping must refuse with a typed error, or report
// for what it is, instead of hanging, trapping or handing out an empty "wrapped" buffer — files that
// are not regular (a FIFO, devices, a directory, procfs), an empty file, offsets past the end and
// offsets near Int.max. The calls that once hung or trapped run in child processes.
extension FileMappingTests {
    @Test("mapping a FIFO fails at once with a typed error, never hangs in open")
    func fifoDoesNotHang() async {
        await ChildScenario.fifo.runInChild()
    }

    @Test("character devices (/dev/zero, /dev/null) are not regular files: typed error", arguments: ["/dev/zero", "/dev/null"])
    func deviceIsTypedError(path: String) {
        let outcome = Self.describeReadOnly(path, count: nil, offset: 0)
        print("mapReadOnly(\(path)) -> \(outcome.text)")
        #expect(outcome.threw, "mapReadOnly(\(path)) gave \(outcome.text)")
        let sized = Self.describeReadOnly(path, count: 4096, offset: 0)
        print("mapReadOnly(\(path), count: 4096) -> \(sized.text)")
    }

    @Test("mapping a directory gives a typed error")
    func directoryIsTypedError() {
        let outcome = Self.describeReadOnly("/tmp", count: nil, offset: 0)
        print("mapReadOnly(/tmp) -> \(outcome.text)")
        #expect(outcome.threw, "mapReadOnly(/tmp) gave \(outcome.text)")
    }

    @Test(
        "a /proc file (size 0 in fstat) is not silently an empty 'wrapped' buffer",
        arguments: ["/proc/self/status", "/proc/meminfo"])
    func procFileIsNotSilentlyEmpty(path: String) {
        let outcome = Self.describeReadOnly(path, count: nil, offset: 0)
        print("mapReadOnly(\(path)) -> \(outcome.text)")
        #expect(outcome.threw || outcome.backend == .file, "mapReadOnly(\(path)) gave \(outcome.text)")
    }

    @Test("an empty regular file is not silently an empty 'wrapped' buffer")
    func emptyFileIsNotSilentlyWrapped() {
        let file = TemporaryFile(bytes: [])
        let outcome = Self.describeReadOnly(file.path, count: nil, offset: 0)
        print("mapReadOnly(empty file) -> \(outcome.text)")
        #expect(outcome.threw || outcome.backend == .file, "mapReadOnly(empty file) gave \(outcome.text)")
    }

    @Test(
        "an offset past the end of the file is an error, not an empty buffer",
        arguments: [4096, 1 << 40, Int.max - 7])
    func offsetPastEndIsError(offset: Int) {
        let file = TemporaryFile(bytes: [UInt8](repeating: 7, count: 64))
        let outcome = Self.describeReadOnly(file.path, count: nil, offset: offset)
        print("mapReadOnly(64-byte file, offset: \(offset)) -> \(outcome.text)")
        #expect(outcome.threw, "offset \(offset) past a 64-byte file gave \(outcome.text)")
    }

    @Test("mapReadOnly(as: Double, count: 1, offset: Int.max - 7) throws instead of trapping")
    func fileOffsetNearMaxReadOnly() async { await ChildScenario.fileOffsetReadOnly.runInChild() }

    @Test("mapReadOnly(as: UInt8, count: 4096, offset: Int.max - 4095) throws instead of trapping")
    func fileOffsetNearMaxReadOnlyBytes() async { await ChildScenario.fileOffsetReadOnlyBytes.runInChild() }

    @Test("mapReadWrite(createOrExtend:, offset: Int.max - 7) throws instead of trapping")
    func fileOffsetNearMaxReadWrite() async { await ChildScenario.fileOffsetReadWrite.runInChild() }

    // MARK: the children

    static func fileOffsetReadOnly() -> Bool {
        ChildScenario.expectThrows("mapReadOnly(as: Double, count: 1, offset: Int.max - 7)") {
            try withTemporaryFile { try FileMapping.mapReadOnly($0, as: Double.self, count: 1, offset: Int.max - 7).count }
        }
    }

    static func fileOffsetReadOnlyBytes() -> Bool {
        ChildScenario.expectThrows("mapReadOnly(as: UInt8, count: 4096, offset: Int.max - 4095)") {
            try withTemporaryFile { try FileMapping.mapReadOnly($0, as: UInt8.self, count: 4096, offset: Int.max - 4095).count }
        }
    }

    static func fileOffsetReadWrite() -> Bool {
        ChildScenario.expectThrows("mapReadWrite(as: Double, count: 1, offset: Int.max - 7, createOrExtend: true)") {
            try withTemporaryFile {
                try FileMapping.mapReadWrite($0, as: Double.self, count: 1, offset: Int.max - 7, createOrExtend: true).buffer
                    .count
            }
        }
    }

    /// Flags a FIFO-mapping thread sets; the child reads them while that thread may be blocked.
    final class Flag: @unchecked Sendable {
        let finished = Atomic<Bool>(false)
        let tid = Atomic<Int>(0)
        var outcome = ""
    }

    /// Maps a FIFO on a thread of its own and waits up to 3 s for it; a thread still blocked then is
    /// reported with the system call it is in.
    static func fifo() -> Bool {
        let path = "/tmp/ziggy-fifo-\(getpid())"
        unlink(path)
        guard mkfifo(path, 0o600) == 0 else { say("mkfifo failed: errno \(errno)"); return false }
        defer { unlink(path) }
        let flag = Flag()
        let thread = OSThread {
            flag.tid.store(currentThreadID(), ordering: .releasing)
            flag.outcome = describeReadOnly(path, count: nil, offset: 0).text
            flag.finished.store(true, ordering: .releasing)
        }
        var waited = 0
        while !flag.finished.load(ordering: .acquiring) && waited < 300 { usleep(10_000); waited += 1 }
        if flag.finished.load(ordering: .acquiring) {
            thread.join()
            say("mapReadOnly(FIFO) returned after \(waited * 10) ms: \(flag.outcome)")
            return flag.outcome.hasPrefix("threw")
        }
        let tid = flag.tid.load(ordering: .acquiring)
        let syscall = Kernel.readText("/proc/self/task/\(tid)/syscall")?.split(separator: " ").first ?? "?"
        let wchan = Kernel.readText("/proc/self/task/\(tid)/wchan") ?? "?"
        say(
            "HUNG: mapReadOnly(FIFO) had not returned after 3 s; its thread is in syscall \(syscall) "
                + "(257 = openat on x86_64), wchan \(wchan)")
        return false  // exit() ends the blocked thread with the process
    }

    // MARK: helpers

    /// `body` given the path of a 4 KiB file that exists while it runs.
    static func withTemporaryFile<R>(_ body: (String) throws -> R) rethrows -> R {
        let file = TemporaryFile(bytes: [UInt8](repeating: 1, count: 4096))
        return try body(file.path)
    }

    /// What `mapReadOnly` made of a path: whether it threw, the backing it reported, and a line
    /// saying so.
    struct Outcome {
        var threw: Bool
        var backend: BufferBacking.Backend?
        var text: String
    }

    static func describeReadOnly(_ path: String, count: Int?, offset: Int) -> Outcome {
        do throws(MmapError) {
            let mapped = try FileMapping.mapReadOnly(path, as: UInt8.self, count: count, offset: offset)
            let backing = mapped.backing
            return Outcome(
                threw: false, backend: backing.backend,
                text: "a buffer of \(mapped.count) B, backing \(backing.backend) (owning: \(backing.isOwning))")
        } catch {
            return Outcome(threw: true, backend: nil, text: "threw \(error)")
        }
    }
}
