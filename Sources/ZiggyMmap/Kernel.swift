import Synchronization
import CNuma
import CZiggyShims
import Glibc

/// The one seam between ZiggyMmap and the kernel: every mmap, munmap, madvise, mlock, msync,
/// mbind, get_mempolicy, move_pages, affinity call and every sysfs/procfs read or write goes
/// through here (the model is apple/swift-system's `Syscalls.swift` + `Mocking.swift`).
///
/// Tests install a ``KernelFaultPlan`` for the current task to make chosen calls fail with a chosen
/// `errno` (ENOMEM, EINVAL, EFAULT, EPERM …) without reaching the kernel, and to record the
/// sequence of calls an operation makes. When no plan is installed anywhere, the check is one
/// relaxed atomic load.
enum Kernel {
    /// Every call the seam makes, as fault plans name them.
    enum Call: String, Sendable, CaseIterable {
        case mmap, munmap, madvise, mincore, mlock, munlock, msync, mbind, getMempolicy, setMempolicy, movePages
        case open, fstat, ftruncate, close, readFile, writeFile, listDirectory
        case setAffinity, getAffinity, getrlimit
    }

    @TaskLocal static var plan: KernelFaultPlan?
    static let installedPlans = Atomic<Int>(0)

    /// The errno a fault plan injects for this call, if any (and records the call).
    @inline(__always)
    static func injected(_ call: Call, _ detail: @autoclosure () -> String = "") -> Int32? {
        guard installedPlans.load(ordering: .relaxed) > 0, let plan else { return nil }
        return plan.consult(call, detail())
    }

    /// Runs `body` with `plan` installed for this task (and threads that adopt it).
    static func withFaults<R: ~Copyable>(_ plan: KernelFaultPlan, _ body: () throws -> R) rethrows -> R {
        installedPlans.add(1, ordering: .relaxed)
        defer { installedPlans.subtract(1, ordering: .relaxed) }
        var result: R? = nil
        try $plan.withValue(plan) { result = try body() }
        return result.take()!
    }

    // MARK: memory mappings

    static func mmap(_ address: UnsafeMutableRawPointer?, _ length: Int, _ protection: Int32, _ flags: Int32,
                     _ fd: Int32, _ offset: Int) -> Result<UnsafeMutableRawPointer, Errno> {
        if let e = injected(.mmap, "len=\(length) flags=0x\(String(flags, radix: 16))") { return .failure(Errno(e)) }
        guard let result = Glibc.mmap(address, length, protection, flags, fd, off_t(offset)), result != MAP_FAILED else {
            return .failure(.current)
        }
        if installedPlans.load(ordering: .relaxed) > 0 { plan?.noteMapped(length) }
        return .success(result)
    }

    static func munmap(_ address: UnsafeMutableRawPointer, _ length: Int) -> Result<Void, Errno> {
        if let e = injected(.munmap, "len=\(length)") { return .failure(Errno(e)) }
        guard Glibc.munmap(address, length) == 0 else { return .failure(.current) }
        if installedPlans.load(ordering: .relaxed) > 0 { plan?.noteUnmapped(length) }
        return .success(())
    }

    static func madvise(_ address: UnsafeMutableRawPointer, _ length: Int, _ advice: Int32) -> Result<Void, Errno> {
        if let e = injected(.madvise, "advice=\(advice) len=\(length)") { return .failure(Errno(e)) }
        return Glibc.madvise(address, length, advice) == 0 ? .success(()) : .failure(.current)
    }

    /// Resident base pages of `[address, address + length)` (`mincore`); `address` page-aligned.
    static func residentPages(_ address: UnsafeMutableRawPointer, _ length: Int) -> Result<Int, Errno> {
        if let e = injected(.mincore, "len=\(length)") { return .failure(Errno(e)) }
        let pages = (length + PageSize.basePageByteCount - 1) / PageSize.basePageByteCount
        var vector = [UInt8](repeating: 0, count: pages)
        guard Glibc.mincore(address, length, &vector) == 0 else { return .failure(.current) }
        return .success(vector.reduce(0) { $0 + Int($1 & 1) })
    }

    static func mlock(_ address: UnsafeMutableRawPointer, _ length: Int) -> Result<Void, Errno> {
        if let e = injected(.mlock, "len=\(length)") { return .failure(Errno(e)) }
        return zg_mlock(address, length) == 0 ? .success(()) : .failure(.current)
    }

    static func munlock(_ address: UnsafeMutableRawPointer, _ length: Int) -> Result<Void, Errno> {
        if let e = injected(.munlock, "len=\(length)") { return .failure(Errno(e)) }
        return zg_munlock(address, length) == 0 ? .success(()) : .failure(.current)
    }

    static func msync(_ address: UnsafeMutableRawPointer, _ length: Int, _ flags: Int32) -> Result<Void, Errno> {
        if let e = injected(.msync, "len=\(length)") { return .failure(Errno(e)) }
        return Glibc.msync(address, length, flags) == 0 ? .success(()) : .failure(.current)
    }

    // MARK: NUMA policy

    static func mbind(_ address: UnsafeMutableRawPointer, _ length: Int, _ mode: Int32, _ mask: [UInt],
                      _ flags: UInt32) -> Result<Void, Errno> {
        if let e = injected(.mbind, "mode=\(mode) len=\(length)") { return .failure(Errno(e)) }
        let maxNode = UInt(mask.count * UInt.bitWidth + 1)
        let rc = mask.withUnsafeBufferPointer { words in
            CNuma.mbind(address, UInt(length), mode, words.isEmpty ? nil : words.baseAddress, words.isEmpty ? 0 : maxNode,
                        flags)
        }
        return rc == 0 ? .success(()) : .failure(.current)
    }

    /// The policy of the mapping at `address` (`MPOL_F_ADDR`): mode and node mask.
    static func getMempolicy(address: UnsafeMutableRawPointer?, maskWords: Int) -> Result<(mode: Int32, mask: [UInt]), Errno> {
        if let e = injected(.getMempolicy) { return .failure(Errno(e)) }
        var mode: Int32 = 0
        var mask = [UInt](repeating: 0, count: maskWords)
        let rc = mask.withUnsafeMutableBufferPointer { words in
            CNuma.get_mempolicy(&mode, words.baseAddress, UInt(maskWords * UInt.bitWidth), address,
                                address == nil ? 0 : UInt32(MPOL_F_ADDR))
        }
        return rc == 0 ? .success((mode, mask)) : .failure(.current)
    }

    /// The node holding each page (`move_pages` in query mode); negative entries are `-errno`
    /// (for example `-ENOENT` for a page not yet faulted in).
    static func queryPageNodes(_ pages: [UnsafeMutableRawPointer?]) -> Result<[Int32], Errno> {
        if let e = injected(.movePages, "pages=\(pages.count)") { return .failure(Errno(e)) }
        var status = [Int32](repeating: 0, count: pages.count)
        var mutablePages = pages
        let rc = mutablePages.withUnsafeMutableBufferPointer { pagePointer in
            status.withUnsafeMutableBufferPointer { statusPointer in
                CNuma.move_pages(0, UInt(pages.count), pagePointer.baseAddress, nil, statusPointer.baseAddress, 0)
            }
        }
        return rc == 0 ? .success(status) : .failure(.current)
    }

    // MARK: files

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) -> Result<Int32, Errno> {
        if let e = injected(.open, path) { return .failure(Errno(e)) }
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        return fd >= 0 ? .success(fd) : .failure(.current)
    }

    static func fileSize(_ fd: Int32) -> Result<Int, Errno> {
        if let e = injected(.fstat) { return .failure(Errno(e)) }
        var info = stat()
        return fstat(fd, &info) == 0 ? .success(Int(info.st_size)) : .failure(.current)
    }

    static func truncate(_ fd: Int32, _ size: Int) -> Result<Void, Errno> {
        if let e = injected(.ftruncate) { return .failure(Errno(e)) }
        return ftruncate(fd, off_t(size)) == 0 ? .success(()) : .failure(.current)
    }

    static func close(_ fd: Int32) {
        _ = injected(.close)
        _ = Glibc.close(fd)
    }

    /// The whole contents of a file (sysfs, procfs, small data files); nil when it cannot be read.
    static func readBytes(_ path: String) -> [UInt8]? {
        if injected(.readFile, path) != nil { return nil }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// The whole text of a (small) sysfs or procfs file; nil when it cannot be read.
    static func readText(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// An integer sysfs value; nil when absent or malformed.
    static func readInt(_ path: String) -> Int? {
        readText(path).flatMap { Int($0.trimmingWhitespace) }
    }

    static func writeText(_ path: String, _ text: String) -> Result<Void, Errno> {
        if let e = injected(.writeFile, path) { return .failure(Errno(e)) }
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.current) }
        defer { _ = Glibc.close(fd) }
        let written = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        return written >= 0 ? .success(()) : .failure(.current)
    }

    /// Entry names of a directory (without "." and ".."); empty when it cannot be read.
    static func listDirectory(_ path: String) -> [String] {
        if injected(.listDirectory, path) != nil { return [] }
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

    // MARK: threads and limits

    static func setAffinity(_ cpus: [Int]) -> Result<Void, Errno> {
        if let e = injected(.setAffinity, "\(cpus)") { return .failure(Errno(e)) }
        var mask = [UInt64](repeating: 0, count: 16)
        for cpu in cpus where cpu >= 0 && cpu < mask.count * 64 { mask[cpu / 64] |= 1 << UInt64(cpu % 64) }
        return zg_set_affinity(mask, mask.count) == 0 ? .success(()) : .failure(.current)
    }

    static func getAffinity() -> Result<[Int], Errno> {
        if let e = injected(.getAffinity) { return .failure(Errno(e)) }
        var mask = [UInt64](repeating: 0, count: 16)
        guard zg_get_affinity(&mask, mask.count) == 0 else { return .failure(.current) }
        var cpus: [Int] = []
        for (index, word) in mask.enumerated() where word != 0 {
            for bit in 0..<64 where word & (1 << UInt64(bit)) != 0 { cpus.append(index * 64 + bit) }
        }
        return .success(cpus)
    }

    /// `RLIMIT_MEMLOCK` (soft limit, bytes; `Int.max` for unlimited).
    static func memlockLimit() -> Int {
        if injected(.getrlimit) != nil { return 0 }
        let limit = zg_memlock_limit()
        return limit < 0 ? 0 : Int(limit)
    }
}

/// An `errno` value.
struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    let code: Int32
    init(_ code: Int32) { self.code = code }
    static var current: Errno { Errno(Glibc.errno) }
    var description: String { AllocationError.errnoName(code) }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" }).reversed())
    }
}

/// Failures to inject into the kernel seam, and the calls it saw, for one test.
///
/// Each rule fails the `occurrence`-th matching call (1-based; nil = every matching call) of one
/// kind, optionally only when the call's detail contains a string. Injected calls do not reach the
/// kernel. Thread-safe.
final class KernelFaultPlan: Sendable {
    struct Rule: Sendable {
        var call: Kernel.Call
        var errno: Int32
        var occurrence: Int?
        var detailContains: String?
        var matched = 0
    }

    private let state: Locked<(rules: [Rule], log: [(Kernel.Call, String)])>
    private let nthCall: (index: Int, errno: Int32, excluding: Set<Kernel.Call>)?

    init(_ rules: [Rule] = [], nthCall: (index: Int, errno: Int32, excluding: Set<Kernel.Call>)? = nil) {
        state = Locked((rules, []))
        self.nthCall = nthCall
    }

    /// Fail the `occurrence`-th call of `call` (every call when nil) with `errno`.
    static func failing(_ call: Kernel.Call, with errno: Int32, occurrence: Int? = 1, detailContains: String? = nil) -> KernelFaultPlan {
        KernelFaultPlan([Rule(call: call, errno: errno, occurrence: occurrence, detailContains: detailContains)])
    }

    /// Fail the `index`-th call the seam sees, whatever it is (1-based).
    static func failingNthCall(_ index: Int, with errno: Int32, excluding: Set<Kernel.Call> = []) -> KernelFaultPlan {
        KernelFaultPlan(nthCall: (index, errno, excluding))
    }

    private let mapping = Locked((mapped: 0, unmapped: 0))

    func noteMapped(_ bytes: Int) { mapping.withLock { $0.mapped += bytes } }
    func noteUnmapped(_ bytes: Int) { mapping.withLock { $0.unmapped += bytes } }

    /// Bytes mapped through the seam under this plan and not unmapped again.
    var bytesStillMapped: Int { mapping.withLock { $0.mapped - $0.unmapped } }

    /// Calls seen so far, in order, with their details.
    var calls: [(call: Kernel.Call, detail: String)] { state.withLock { $0.log.map { ($0.0, $0.1) } } }

    fileprivate func consult(_ call: Kernel.Call, _ detail: String) -> Int32? {
        state.withLock { state in
            state.log.append((call, detail))
            if let nth = nthCall, !nth.excluding.contains(call) {
                let seen = state.log.filter { !nth.excluding.contains($0.0) }.count
                if seen == nth.index { return nth.errno }
            }
            for index in state.rules.indices where state.rules[index].call == call {
                if let needle = state.rules[index].detailContains, !detail.contains(needle) { continue }
                state.rules[index].matched += 1
                if state.rules[index].occurrence == nil || state.rules[index].occurrence == state.rules[index].matched {
                    return state.rules[index].errno
                }
            }
            return nil
        }
    }
}
