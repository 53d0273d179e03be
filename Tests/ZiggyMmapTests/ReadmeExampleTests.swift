import ComplexModule
import Testing
import ZiggyKernel
import ZiggyMmap

/// The README's example, compiled and run as it is printed there (with the print calls kept), so
/// the first code a newcomer copies is known to work; and the longer team and numerical examples
/// the README used to carry, kept as tests of what they show.
@Suite("README example")
struct ReadmeExampleTests {
    @Test("the README's example runs and reports what it got")
    func readmeExample() throws {
        try withHugeTLBPool { try runExample() }
    }

    func runExample() throws {
        // --- README example begins ---
        func simulate() throws {
            // 512 MiB of Double on 2 MiB huge pages; if the pool is short, fall back and say why.
            let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller, populate: .parallel(threads: 2))
            var samples = try allocator.allocate(Double.self, count: 64 << 20)
            print(samples.backing)  // page size obtained, and why not the one asked
            print(samples.pageSizeReport())  // the same, checked against /proc/self/smaps

            for i in samples.indices { samples[i] = Double(i) * 0.5 }  // bounds-checked, at C speed

            // Pages bound to NUMA node 0, and where they really are.
            let numa = try NumaAllocator(policy: .bind([0]), populate: .kernel)
            let local = try numa.allocate(Float.self, count: 1 << 20)
            print(try local.placement())  // "base 4 KiB pages: N0=1024"
        }  // both buffers are freed here, exactly once

        try simulate()
        // --- README example ends ---
        // What the example promises, checked the same way outside it.
        let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller, populate: .parallel(threads: 2))
        let samples = try allocator.allocate(Double.self, count: 64 << 20)
        let obtained = samples.backing.mapping?.obtainedPageSize
        #expect(samples.pageSizeReport().obtainedPageSize == obtained)
        let local = try NumaAllocator(policy: .bind([0]), populate: .kernel).allocate(Float.self, count: 1 << 20)
        #expect(try local.placement().pagesPerNode == [0: 1024])
        #expect(allocator.statistics.liveAllocations == 1)
    }

    @Test("the team example runs: every member's part written, the sum checked")
    func readmeTeamExample() throws {
        // The pool is shared with the hugetlb tests, which count its free pages.
        try withHugeTLBPool { try runTeamExample() }
    }

    func runTeamExample() throws {
        // --- team example begins ---
        let team = try Team()  // one pinned thread per allowed CPU, by node
        let n = 1 << 22  // 32 MiB of Double per buffer
        var a = try team.allocate(Double.self, count: n, pageSize: .huge2MiB, fallback: .anySmaller)
        var b = try team.allocate(Double.self, count: n)  // blocked: each member's part on its node
        team.forEachChunk(of: &b) { _, range, part in  // first touch by the member that owns it
            for i in 0..<part.count { part[i] = Double(range.lowerBound + i) }
        }
        team.forEachChunk(of: &a, reading: b) { _, range, part, b in  // write own part, read all of b
            for i in 0..<part.count { part[i] = 2 * b[range.lowerBound + i] }
        }
        print(team.schedule(for: a))  // member, elements, node
        print(a.pageSizeReport())  // page size obtained, checked in smaps
        print(try a.placement())  // pages per node, asked of the kernel
        print(team.sum(a) == Double(n) * Double(n - 1))  // a SIMD reduction by the team: true
        // --- team example ends ---
        #expect(a[n - 1] == 2 * Double(n - 1))
        #expect(team.schedule(for: a).parts.last?.elements.upperBound == n)
        #expect(try a.placement().presentPages > 0)
        #expect(team.sum(a) == Double(n) * Double(n - 1))
    }

    @Test("the numerical example runs: Complex on huge pages, copying, resize, BufferArray")
    func readmeNumericalExample() throws {
        try withHugeTLBPool { try runNumericalExample() }
    }

    func runNumericalExample() throws {
        // --- numerical example begins ---
        // Complex<Double> on 2 MiB pages, 64-byte aligned as FFTW's AVX-512 plans want.
        let mmap = MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller)
        var signal = try mmap.allocate(Complex<Double>.self, count: 1 << 16, alignment: 64)
        for i in signal.indices { signal[i] = Complex(length: 1, phase: 0.01 * Double(i)) }
        print(signal.backing)  // the page size obtained, and why not the one asked for

        // Made from any collection, grown without losing what it holds.
        var ramp = try mmap.allocate(copying: (0..<1000).lazy.map { Double($0) })
        print(try mmap.resize(&ramp, to: 1 << 20), ramp[999])  // remapped 999.0 (page tables moved, no copy)

        // A copyable, copy-on-write collection for generic code: sort, map, reduce, [BufferArray].
        var samples = try BufferArray(allocator: mmap, copying: [3.0, 1.0, 2.0])
        samples.sort()
        let before = samples  // shares the memory until one of them is written
        samples[0] = -1  // copies first, through the same allocator (same page size)
        print(Array(before), Array(samples), samples.reduce(0, +))  // [1.0, 2.0, 3.0] [-1.0, 2.0, 3.0] 4.0
        // --- numerical example ends ---
        #expect(signal[100].real == Complex<Double>(length: 1, phase: 1).real)
        #expect(ramp.count == 1 << 20 && ramp[999] == 999)
        #expect(Array(before) == [1, 2, 3] && Array(samples) == [-1, 2, 3])
        #expect(samples.backing.mapping?.obtainedPageSize == before.backing.mapping?.obtainedPageSize)
    }

    /// The README's snippets and these tests' copies are the same lines, so neither drifts.
    @Test("the README prints exactly the code these tests run")
    func readmeMatchesTests() throws {
        let here = "\(#filePath)"
        let root = here.split(separator: "/").dropLast(3).joined(separator: "/")
        let readme = try #require(Kernel.readText("/\(root)/README.md"))
        let tests = try #require(Kernel.readText(here))
        func lines(_ text: String, from start: String, to end: String) -> [String] {
            guard let a = text.firstRange(of: start), let b = text[a.upperBound...].firstRange(of: end) else { return [] }
            // Compared modulo runs of spaces: the README aligns its end-of-line comments, the
            // formatter (make test-format) does not.
            return text[a.upperBound..<b.lowerBound].split(separator: "\n")
                .map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
                .filter { !$0.isEmpty && !$0.hasPrefix("import ") }
        }
        for (heading, marker) in [("## Example", "README example ")] {
            let printed = lines(readme, from: heading, to: "```\n\n").drop { !$0.hasPrefix("```swift") }.dropFirst()
            let run = lines(tests, from: "// --- " + marker + "begins ---", to: "// --- " + marker + "ends ---")
            #expect(!run.isEmpty, "no lines between the \(marker)markers")
            #expect(Array(printed) == run, "the README's \(heading) and the test differ")
        }
    }
}
