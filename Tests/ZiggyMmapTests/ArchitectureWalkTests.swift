import Testing
import ZiggyMmap

/// The walks Docs/Architecture.md describes file by file: each is the life of one buffer —
/// allocate, first use, free — and nothing else. `Tests/Architecture/count-walk-files` runs each
/// alone under code coverage and counts the library source files it executes (the architecture's
/// promise: at most 8, 10 and 12).
///
/// Each walk does what it does whatever the machine has: the 2 MiB walks fall back to base pages
/// when the pool has no page free (the common case here), and the NUMA walk binds to node 0,
/// which every Linux machine has. The 2 MiB walks hold the hugetlb pool lock, as the protocol
/// requires of anything that may map hugetlb pages (its files count in those walks).
@Suite("Architecture walk")
struct ArchitectureWalkTests {
    @Test("mmap: one 2 MiB buffer with fallback — allocate, first use, free")
    func mmapWithFallback() throws {
        try withHugeTLBPool {
            let allocator = MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller)
            var samples = try allocator.allocate(Double.self, count: 1 << 16)
            samples[0] = 1.5
            #expect(samples[0] == 1.5)
            samples.free()
        }
    }

    @Test("numa: one 2 MiB buffer bound to node 0 with fallback — allocate, first use, free")
    func numaHugeTLB() throws {
        try withHugeTLBPool {
            let allocator = try NumaAllocator(policy: .bind([0]), pageSize: .huge2MiB, fallback: .anySmaller)
            var samples = try allocator.allocate(Double.self, count: 1 << 16)
            samples[0] = 1.5
            #expect(samples[0] == 1.5)
            samples.free()
        }
    }

    @Test("team: one blocked buffer — create the team, allocate, one forEachChunk, free")
    func teamBlocked() throws {
        let team = try Team()
        var samples = try team.allocate(Double.self, count: 1 << 16)
        team.forEachChunk(of: &samples) { _, _, chunk in
            for i in chunk.indices { chunk[i] = 1.5 }
        }
        #expect(samples[0] == 1.5)
        samples.free()
    }
}
