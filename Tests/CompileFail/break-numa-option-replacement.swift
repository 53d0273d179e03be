// The replacement for public-numa-policy-option.swift: NUMA placement through NumaAllocator,
// which validates the nodes and checks hugetlb pools before mapping.
//
// EXPECT-COMPILES
import ZiggyMmap

func bound() throws -> PlacementReport {
    let allocator = try NumaAllocator(policy: .bind([0]), pageSize: .huge2MiB, fallback: .anySmaller)
    return try allocator.allocate(UInt8.self, count: 4096).placement()
}
