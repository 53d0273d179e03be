import CZiggyReferences
import Foundation
import Glibc

extension Runner {
    /// Allocate + first touch of fresh memory from every backend, against the C loops doing the
    /// same (`c-mmap-4k`, `c-hugetlb-2m`, `c-hugetlb-1g`, `c-libnuma`, optional `c-memkind` and
    /// `c-glibc-hugetlb`) and the page-clearing rate (`c-clear-4k`), all round-robin with a fresh
    /// allocation per sample after a warm-up round.
    func firstTouch(write: Bool) {
        let workload: Workload = write ? .firstTouchWrite : .firstTouch
        let bytes = config.firstTouchBytes
        var contenders: [Contender] = []
        if !write { contenders += cFirstTouchContenders(bytes: bytes) }
        for backend in backends(for: workload) {
            let why = factory.unavailableReason(backend, bytes: bytes)
            var contender: Contender!
            contender = Contender(backend.rawValue, bytes: bytes, unit: .gigabytesPerSecond, unavailable: why) { [factory] in
                let start = now()
                let region = try factory.make(backend, bytes: bytes)
                if write { region.writeAll() } else { region.touchPages() }
                let seconds = now() - start
                if contender.pageSize == "-" {
                    contender.pageSize = region.obtainedPageSize()
                    contender.nodes = region.nodeHistogram()
                }
                return Double(bytes) / seconds / 1e9
            }
            contenders.append(contender)
        }
        measure(workload.rawValue, contenders)
    }

    func cFirstTouchContenders(bytes: Int) -> [Contender] {
        var contenders: [Contender] = []
        func touch(_ name: String, kind: Int32, pageBytes: Int, note: String) {
            let why = pageBytes > 4096 ? factory.hugePagesMissing(pageBytes, bytes: bytes) : nil
            var contender: Contender!
            contender = Contender(name, bytes: bytes, unit: .gigabytesPerSecond, note: note, unavailable: why) {
                var kb = 0
                let seconds = try checked(zr_first_touch(bytes, kind, &kb), "mmap of \(formatBytes(bytes))")
                contender.pageSize = pageSizeName(kb: kb)
                return Double(bytes) / seconds / 1e9
            }
            contenders.append(contender)
        }
        touch("c-mmap-4k", kind: Int32(ZR_PAGES_BASE), pageBytes: 4096, note: "mmap + touch loop, base pages")
        touch("c-hugetlb-2m", kind: Int32(ZR_PAGES_2M), pageBytes: 2 << 20, note: "mmap(MAP_HUGETLB|MAP_HUGE_2MB) + touch loop")
        touch("c-hugetlb-1g", kind: Int32(ZR_PAGES_1G), pageBytes: 1 << 30, note: "mmap(MAP_HUGETLB|MAP_HUGE_1GB) + touch loop")
        let node = Int32(factory.localNode)
        let libnuma = Contender(
            "c-libnuma", bytes: bytes, unit: .gigabytesPerSecond,
            note: "numa_alloc_onnode(local) + touch loop"
        ) {
            Double(bytes) / (try checked(zr_libnuma_touch(bytes, node), "numa_alloc_onnode")) / 1e9
        }
        libnuma.pageSize = "base 4 KiB"
        libnuma.nodes = "N\(node)"
        contenders.append(libnuma)
        let clear = Contender(
            "c-clear-4k", bytes: bytes, unit: .gigabytesPerSecond,
            note: "page-clearing rate: fresh base pages zeroed 4 KiB at a time"
        ) {
            Double(bytes) / (try checked(zr_clear_4k(bytes), "mmap")) / 1e9
        }
        clear.pageSize = "base 4 KiB"
        contenders.append(clear)
        var reason = [CChar](repeating: 0, count: 256)
        let memkind = zr_memkind_available(&reason, reason.count) != 0
        let memkindWhy =
            memkind
            ? factory.hugePagesMissing(2 << 20, bytes: bytes)
            : reason.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var memkindContender: Contender!
        memkindContender = Contender(
            "c-memkind", bytes: bytes, unit: .gigabytesPerSecond,
            note: "memkind_malloc(MEMKIND_HUGETLB) + touch loop", unavailable: memkindWhy
        ) {
            var kb = 0
            let seconds = try checked(zr_memkind_touch(bytes, &kb), "memkind_malloc")
            memkindContender.pageSize = pageSizeName(kb: kb)
            return Double(bytes) / seconds / 1e9
        }
        contenders.append(memkindContender)
        var glibcContender: Contender!
        glibcContender = Contender(
            "c-glibc-hugetlb", bytes: bytes, unit: .gigabytesPerSecond,
            note: "malloc + touch in a child with GLIBC_TUNABLES=glibc.malloc.hugetlb=2",
            unavailable: glibcTunableUnavailable(bytes: bytes)
        ) {
            let (seconds, kb) = try runGlibcHugetlbChild(bytes: bytes)
            glibcContender.pageSize = pageSizeName(kb: kb)
            return Double(bytes) / seconds / 1e9
        }
        contenders.append(glibcContender)
        return contenders
    }

    /// Why glibc's malloc hugetlb tunable cannot be measured here, or nil.
    func glibcTunableUnavailable(bytes: Int) -> String? {
        guard let version = zr_glibc_version().map({ String(cString: $0) }) else { return "not glibc" }
        let parts = version.split(separator: ".").compactMap { Int($0) }
        if parts.count >= 2 && (parts[0], parts[1]) < (2, 35) { return "glibc \(version) has no glibc.malloc.hugetlb (2.35+)" }
        return factory.hugePagesMissing(2 << 20, bytes: bytes + (2 << 20))
    }
}

/// Runs this executable as a child with the glibc tunable set; the child mallocs, touches and
/// prints "seconds kernel-page-kB" (see `glibcChildMain`).
func runGlibcHugetlbChild(bytes: Int) throws -> (Double, Int) {
    var pipe: [Int32] = [0, 0]
    guard Glibc.pipe(&pipe) == 0 else { throw BenchError.failed("pipe failed") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipe[0])
    let arguments = ["ziggy-bench", glibcChildFlag, "\(bytes)"]
    var environment = ProcessInfo.processInfo.environment
    environment["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=2"
    let envStrings = environment.map { "\($0.key)=\($0.value)" }
    var pid: pid_t = 0
    let cArguments = arguments.map { strdup($0) } + [nil]
    let cEnvironment = envStrings.map { strdup($0) } + [nil]
    defer { (cArguments + cEnvironment).forEach { free($0) } }
    let rc = posix_spawn(&pid, "/proc/self/exe", &actions, nil, cArguments, cEnvironment)
    close(pipe[1])
    defer { close(pipe[0]) }
    guard rc == 0 else { throw BenchError.failed("posix_spawn: \(String(cString: strerror(rc)))") }
    var output = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 256)
    while true {
        let n = read(pipe[0], &chunk, chunk.count)
        if n <= 0 { break }
        output += chunk[0..<n]
    }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    let fields = String(decoding: output, as: UTF8.self).split(separator: " ")
    guard fields.count == 2, let seconds = Double(fields[0]), let kb = Int(fields[1].trimmingCharacters(in: "\n")),
        seconds > 0
    else {
        throw BenchError.failed("the glibc tunable child printed '\(String(decoding: output, as: UTF8.self))'")
    }
    return (seconds, kb)
}

let glibcChildFlag = "--internal-glibc-hugetlb-child"

/// The child's side: malloc + touch `bytes`, print the seconds and the kernel page size.
func glibcChildMain(_ arguments: [String]) -> Never {
    guard arguments.count == 3, let bytes = Int(arguments[2]) else { exit(2) }
    var kb = 0
    let seconds = zr_malloc_touch(bytes, &kb)
    print("\(seconds) \(kb)")
    exit(seconds > 0 ? 0 : 1)
}
