// Issue 9, defect 5: MmapAllocator.Options had a public `numaPolicy` (1.0: the initializer's parameters are the one spelling), a path to NUMA placement
// that skips NumaAllocator's node validation, per-node hugetlb pool check and forced population
// (the road to a SIGBUS on a node with an empty pool). There must be no public path to a NUMA
// policy that bypasses the checks, so this must not compile.
//
// EXPECT-ERROR: error: .*numaPolicy
import ZiggyMmap

_ = MmapAllocator(pageSize: .huge2MiB, numaPolicy: .bind([0]))
