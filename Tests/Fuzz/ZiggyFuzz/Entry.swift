import CZiggyFuzzOptions
import Glibc
import ZiggyMmap
import ZiggySupport

// ziggy-fuzz: the libFuzzer target over request validation, the core allocators, MmapAllocator
// and FileMapping (the input format is in Input.swift).
//
// Fuzzing build (what `make test-fuzz` runs): libFuzzer supplies `main` and calls
// `LLVMFuzzerTestOneInput` for every input; ZIGGY_LIBFUZZER leaves out the replay `main` below.
//
//     swift build --scratch-path .build-fuzz --sanitize=fuzzer --sanitize=address \
//         -Xswiftc -sanitize=fuzzer,address -Xswiftc -DZIGGY_LIBFUZZER --product ziggy-fuzz
//
// (The `-Xswiftc -sanitize=fuzzer,address` is needed: with Swift 6.3 the driver hands the
// frontend only the last of several `-sanitize=` flags, so `--sanitize=fuzzer --sanitize=address`
// alone links libFuzzer but instruments nothing for coverage.)
//
// Plain builds (`swift build`) get a replay driver instead: `ziggy-fuzz FILE|DIR…` runs each input
// once with the same checks, to reproduce a crash without libFuzzer.

/// Runs one fuzz input: up to 16 operations, each checked against its model and the invariants.
func runInput(_ bytes: UnsafeBufferPointer<UInt8>) {
    if !warmedUp {
        warmedUp = true
        _ = FuzzFiles.shared
        warmUp()
    }
    var input = FuzzInput(bytes)
    Harness.beginInput()
    var operations = 0
    while !input.isAtEnd && operations < 16 {
        operations += 1
        switch input.byte() % 5 {
        case 0: RequestOperation.run(&input)
        case 1: CoreOperation.run(&input)
        case 2: MmapOperation.run(&input)
        case 3: FileOperation.run(&input)
        default: FaultOperation.run(&input)
        }
    }
    Harness.endInput()
}

/// 4: the next mapping operation's n-th kernel call fails (debug builds, and fuzz builds, which
/// define ENABLE_MOCKING; elsewhere the op is read and ignored).
enum FaultOperation {
    static let errnos: [Errno] = [
        .noMemory, .invalidArgument, .resourceTemporarilyUnavailable, .badAddress,
        .notPermitted, .ioError, .interrupted, .resourceBusy,
    ]

    static func run(_ input: inout FuzzInput) {
        let call = 1 + Int(input.byte() % 24)
        let errno = errnos[Int(input.byte()) % errnos.count]
        Harness.pendingFault = (call, errno)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    runInput(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    precondition(ziggy_fuzz_options_linked() == 1)
    precondition(FuzzInput.specials.count == 64, "the specials table must fill tags 0x40…0x7F")
    _ = FuzzFiles.shared
    return 0
}

nonisolated(unsafe) var warmedUp = false

/// Runs once what leaves legitimate mappings behind the first time only — the threads of a
/// parallel population (glibc caches their stacks and keeps their malloc arenas), first reads of
/// sysfs and smaps — so the invariants compare steady states. Called from the first input, not
/// from LLVMFuzzerInitialize: libFuzzer starts its own thread after that, taking a cached stack.
func warmUp() {
    for _ in 0..<2 {
        let allocator = MmapAllocator(
            pageSize: .transparentHuge, fallback: .anySmaller,
            populate: .parallel(threads: Int.max))
        if let buffer = try? allocator.allocate(UInt8.self, count: 8 << 20) { buffer.free() }
        if let buffer = try? MmapAllocator(populate: .kernel).allocate(UInt8.self, count: 1 << 20) { buffer.free() }
    }
}

#if !ZIGGY_LIBFUZZER
@main
enum ZiggyFuzzReplay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.isEmpty || arguments.contains("-h") || arguments.contains("--help") {
            print(
                """
                usage: ziggy-fuzz FILE|DIR…          runs each fuzz input once, with every check
                       ziggy-fuzz --write-seeds DIR  writes the seed corpus (Tests/Fuzz/corpus)
                This build replays; `make test-fuzz` builds the libFuzzer one.
                """)
            exit(arguments.isEmpty ? 2 : 0)
        }
        if arguments.first == "--write-seeds", arguments.count == 2 {
            print("ziggy-fuzz: wrote \(Seeds.write(to: arguments.last!)) seeds to \(arguments.last!)")
            return
        }
        _ = fuzzInitialize(nil, nil)
        var files: [String] = []
        for argument in arguments {
            let entries = listDirectory(argument)
            files += entries.isEmpty ? [argument] : entries.map { argument + "/" + $0 }
        }
        for file in files {
            guard let bytes = readFile(file) else {
                printError("ziggy-fuzz: cannot read \(file)\n")
                exit(2)
            }
            bytes.withUnsafeBufferPointer { runInput($0) }
        }
        print("ziggy-fuzz: replayed \(files.count) input(s), no violation")
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }

    /// Entries of a directory (without dot files), sorted; empty when `path` is not a directory.
    static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }
}
#endif
