import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc

@testable import ZiggyMmap

// Part of the suite "NUMA inside a multi-node VM" (NumaVMTests.swift is at its size limit).
extension NumaVMTests {
    @Test("a node-bound buffer grown by resize has every page on its node, the new ones included (mremap keeps the policy)")
    func resizeKeepsNode() throws {
        let node = nodes.count > 1 ? 1 : 0
        for populate in [PopulateMode.none, .kernel] {
            let allocator = try NumaAllocator(policy: .bind([node]), populate: populate)
            var buffer = try allocator.allocate(UInt8.self, count: 4 * MiB)
            buffer.fill(with: 1)
            let outcome = try allocator.resize(&buffer, to: 32 * MiB)
            #expect(outcome != .unchanged, "\(populate): \(outcome)")
            #expect(buffer.backing.mapping?.numaPolicy == .bind([node]))
            buffer.fill(with: 2)
            let placement = try buffer.placement()
            #expect(placement.pagesPerNode == [node: 8192], "\(populate), \(outcome): \(placement)")
            let maps = try #require(NumaMapsEntry.containing(buffer.unsafeBaseAddress))
            #expect(maps.policy == "bind:\(node)")
            #expect(Set(maps.pagesPerNode.keys) == [node], "numa_maps: \(maps.pagesPerNode)")
        }
    }
}
