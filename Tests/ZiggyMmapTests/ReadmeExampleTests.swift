import Testing
import ZiggyMmap

/// The README's example, compiled and run as it is printed there (with the print calls kept), so
/// the first code a newcomer copies is known to work.
@Suite("README example")
struct ReadmeExampleTests {
    @Test("the README's 20-line example runs and reports what it got")
    func readmeExample() throws {
        try withHugeTLBPool { try runExample() }
    }

    func runExample() throws {
        // --- README example begins ---
        // 512 MiB of Double on 2 MiB huge pages; if the pool is short, fall back and say why.
        let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller, populate: .parallel(threads: 2))
        var samples = try allocator.allocate(Double.self, count: 64 << 20)
        print(samples.backing)            // backend, page size obtained (and why not the one asked), population
        print(samples.pageSizeReport())   // the same, checked against /proc/self/smaps

        for i in samples.indices { samples[i] = Double(i) * 0.5 }   // bounds-checked, raw-pointer speed

        // Pages bound to NUMA node 0, and where they really are.
        let numa = try NumaAllocator(policy: .bind([0]), populate: .kernel)
        let local = try numa.allocate(Float.self, count: 1 << 20)
        print(try local.placement())      // "base 4 KiB pages: N0=1024"

        // Leak reports with file:line, and an arena that frees everything at the end of its scope.
        let debug = DebugMemoryAllocator("Physics", wrapping: SystemMemoryAllocator())
        let particles = try debug.allocate(SIMD4<Float>.self, count: 10_000, zeroed: true)
        try ScopedAllocator.withScope { arena in
            var scratch = try arena.allocate(UInt8.self, count: 4096)
            scratch.fill(with: 0xFF)
        }
        print(debug.leakReport)           // lists `particles` with this file and line until it is freed
        // --- README example ends ---

        #expect(samples[samples.count - 1] == Double(samples.count - 1) * 0.5)
        let obtained = samples.backing.obtainedPageSize
        #expect(samples.pageSizeReport().obtainedPageSize == obtained)
        #expect(try local.placement().pagesPerNode == [0: 1024])
        #expect(debug.leakReport.leaks.count == 1)
        #expect(particles.count == 10_000)
    }
}
