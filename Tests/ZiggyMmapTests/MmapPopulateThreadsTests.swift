import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

// Part of the suite "MmapAllocator: base pages and THP": how many threads parallel population
// (`.parallel(threads:)`) runs. Counts below 1 follow the same rule as a node's team, and counts
// above the CPUs allowed are lowered, so a caller's Int.max cannot start a thread per page.
extension MmapAllocatorTests {
    @Test("one rule for thread count 0 and negative: population and a node's team agree", arguments: [0, -3])
    func threadCountRuleIsConsistent(threads: Int) {
        let pinningThrows: Bool
        do throws(MmapError) { try Team(perNode: threads, nodes: [0]).run { _ in }; pinningThrows = false } catch {
            pinningThrows = true
        }
        let populateOutcome: String
        let populateThrows: Bool
        do throws(MmapError) {
            let buffer = try MmapAllocator(pageSize: .base, populate: .parallel(threads: threads)).allocate(UInt8.self, count: MiB)
            populateOutcome = "succeeded, backing.mapping?.populate = \((buffer.backing.mapping?.populate).printed)"
            populateThrows = false
        } catch {
            populateOutcome = "threw \(error)"
            populateThrows = true
        }
        print(
            "threads \(threads): Team(perNode:nodes:) \(pinningThrows ? "throws" : "accepts"); .parallel(threads:) population \(populateOutcome)"
        )
        #expect(
            pinningThrows == populateThrows,
            "Team(perNode:nodes:) \(pinningThrows ? "throws" : "accepts") but population \(populateOutcome)")
    }

    @Test(".parallel(threads: Int.max) on an 8 MiB buffer runs at most as many threads as CPUs allowed")
    func parallelThreadsCapped() async {
        // In a child: its thread count (/proc/self/task) is its own.
        await ChildScenario.parallelIntMax.runInChild()
    }

    /// Populates 8 MiB with `.parallel(threads: Int.max)` while a sampler thread records the most
    /// threads /proc/self/task shows; the report must name at most the CPUs allowed.
    static func parallelIntMax() -> Bool {
        let allowed = NumaTopology.current().allowedCPUs.count
        final class Sampling: Sendable {
            let peak = Atomic<Int>(0)
            let stop = Atomic<Bool>(false)
        }
        let sampling = Sampling()
        let sampler = OSThread {
            while !sampling.stop.load(ordering: .acquiring) {
                let count = Kernel.listDirectory("/proc/self/task").count
                if count > sampling.peak.load(ordering: .relaxed) { sampling.peak.store(count, ordering: .relaxed) }
            }
        }
        let baseline = Kernel.listDirectory("/proc/self/task").count
        let buffer = try! MmapAllocator(pageSize: .base, populate: .parallel(threads: Int.max)).allocate(UInt8.self, count: 8 * MiB)
        sampling.stop.store(true, ordering: .releasing)
        sampler.join()
        say(
            "CPUs allowed: \(allowed); .parallel(threads: Int.max) on 8 MiB: backing.mapping?.populate = \((buffer.backing.mapping?.populate).printed); "
                + "peak threads seen in /proc/self/task \(sampling.peak.load(ordering: .relaxed)) (before: \(baseline), incl. the sampler)"
        )
        if case .parallel(let threads) = buffer.backing.mapping?.populate { return threads <= allowed }
        return true
    }
}
