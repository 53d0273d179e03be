import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc

@testable import ZiggyMmap

/// The chunk arithmetic of ``Team/Schedule``: properties over sizes, strides, page sizes, member
/// counts and memory nodes (with and without members), on a fixed pseudo-random sweep.
@Suite("Team schedules")
struct TeamScheduleTests {
    /// SplitMix64: the sweep is the same on every run, so a failure reproduces.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Members on nodes given as one node id per member, numbered by node as a team numbers them.
    static func members(onNodes nodes: [Int]) -> [Team.Member] {
        let sorted = nodes.sorted()
        return sorted.enumerated().map { index, node in
            let peers = sorted.indices.filter { sorted[$0] == node }
            return Team.Member(
                index: index, cpu: index, node: node, indexOnNode: peers.firstIndex(of: index)!,
                membersOnNode: peers.count, teamSize: sorted.count)
        }
    }

    static let counts = [
        0, 1, 2, 7, 511, 512, 513, 4095, 4096, 4097, 3 * 4096 + 1, 1 << 20, (1 << 20) + 3, 1 << 40,
        Int.max / 8, Int.max / 2, Int.max,
    ]
    static let strides = [1, 2, 8, 12, 16, 24, 4096, 5000]
    static let pageSizes = [4096, 2 << 20, 1 << 30]

    /// Checks every property of one schedule, returning the first broken one.
    static func violation(
        _ s: Team.Schedule, count: Int, stride: Int, pageBytes: Int, members: [Team.Member],
        memoryNodes: [Int]
    ) -> String? {
        guard s.count == count, s.pageBytes == pageBytes else { return "count or page size not kept" }
        guard let first = s.parts.first, let last = s.parts.last else { return "no parts" }
        guard first.elements.lowerBound == 0, last.elements.upperBound == count else { return "elements not covered" }
        guard first.pages.lowerBound == 0 else { return "pages do not start at 0" }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: stride)
        let totalPages = overflow ? Int.max / pageBytes : bytes / pageBytes + (bytes % pageBytes == 0 ? 0 : 1)
        guard last.pages.upperBound == totalPages else { return "pages end at \(last.pages.upperBound), not \(totalPages)" }
        for (a, b) in zip(s.parts, s.parts.dropFirst()) {
            guard a.elements.upperBound == b.elements.lowerBound else { return "gap or overlap between \(a) and \(b)" }
            guard a.pages.upperBound == b.pages.lowerBound else { return "page gap or overlap between \(a) and \(b)" }
        }
        for part in s.parts where !part.elements.isEmpty {
            // A part starts at the first element starting on or after its first page boundary.
            let (start, o1) = part.elements.lowerBound.multipliedReportingOverflow(by: stride)
            let (boundary, o2) = part.pages.lowerBound.multipliedReportingOverflow(by: pageBytes)
            if !o1, !o2 {
                guard start >= boundary, start - boundary < stride else { return "\(part) does not start at its page boundary" }
            }
        }
        // Every member works on its own node's memory, or (memory-only nodes) the nearest one's.
        let memberNodes = Set(members.map(\.node))
        for part in s.parts {
            let member = members[part.member]
            guard memoryNodes.contains(part.node) else { return "\(part) on node \(part.node), not a memory node" }
            if memberNodes.contains(part.node), member.node != part.node { return "\(part) worked from node \(member.node)" }
        }
        // On each node, the members' page counts differ by at most one.
        for node in Set(s.parts.map(\.node)) {
            let pages = s.parts.filter { $0.node == node }.map(\.pages.count)
            guard pages.max()! - pages.min()! <= 1 else { return "unbalanced on node \(node): \(pages)" }
        }
        for member in members where memberNodes.count == Set(memoryNodes).count {
            guard s.parts(of: member.index).count == 1 else {
                return "member \(member.index) has \(s.parts(of: member.index).count) parts"
            }
        }
        return nil
    }

    @Test("parts are disjoint, cover every element, start on page boundaries, and stay on their members' nodes")
    func properties() {
        var random = Generator(state: 2026)
        var checked = 0
        for _ in 0..<3000 {
            let count =
                Bool.random(using: &random)
                ? Self.counts.randomElement(using: &random)!
                : Int.random(in: 0...(1 << 24), using: &random)
            let stride = Self.strides.randomElement(using: &random)!
            let pageBytes = Self.pageSizes.randomElement(using: &random)!
            let memberNodes = (0..<Int.random(in: 1...9, using: &random)).map { _ in Int.random(in: 0...3, using: &random) }
            let members = Self.members(onNodes: memberNodes)
            // Memory nodes: the members' nodes, sometimes with memory-only nodes 4...5 added.
            var memory = Set(memberNodes)
            if Bool.random(using: &random) { memory.insert(Int.random(in: 4...5, using: &random)) }
            let schedule = Team.Schedule(
                count: count, stride: stride, pageBytes: pageBytes, members: members,
                memoryNodes: NodeSet(memory), distance: { abs($0 - $1) * 10 })
            if let broken = Self.violation(
                schedule, count: count, stride: stride, pageBytes: pageBytes,
                members: members, memoryNodes: Array(memory))
            {
                Issue.record(
                    "count \(count) stride \(stride) page \(pageBytes) members on \(memberNodes) memory \(memory.sorted()): \(broken)"
                )
                return
            }
            checked += 1
        }
        #expect(checked == 3000)
    }

    @Test("memory-only nodes are worked by the members of the nearest node (ties: the lower node)")
    func memoryOnlyNearest() {
        let members = Self.members(onNodes: [0, 0, 2])
        let s = Team.Schedule(
            count: 1 << 20, stride: 8, pageBytes: 4096, members: members, memoryNodes: [0, 1, 2, 3],
            distance: { abs($0 - $1) * 10 })
        #expect(Set(s.parts.filter { $0.node == 1 }.map(\.member)) == [0, 1], "node 1 is as near 0 as 2: the lower wins")
        #expect(Set(s.parts.filter { $0.node == 3 }.map(\.member)) == [2])
        // Pages are shared by workers: node 0's two members and node 2's one member each get
        // their node's share, and the memory-only nodes get their workers' share again.
        #expect(s.nodeRuns.map(\.node) == [0, 1, 2, 3])
    }

    @Test("hostile inputs to a team's schedule: negative counts, more members than pages, the largest sizes")
    func hostile() throws {
        let team = try Team()
        #expect(team.schedule(Double.self, count: -5).count == 0)
        let tiny = team.schedule(UInt8.self, count: 1, pageSize: .huge1GiB)
        #expect(tiny.parts.filter { !$0.elements.isEmpty }.map(\.elements) == [0..<1])
        let huge = team.schedule(UInt64.self, count: Int.max, pageSize: .base)
        #expect(huge.parts.last?.elements.upperBound == Int.max)
        let odd = Team.Schedule(count: 10, stride: 0, pageBytes: -1, members: team.members, distance: { _, _ in 0 })
        #expect(odd.parts.last?.elements.upperBound == 10, "stride and page size below 1 are taken as 1")
    }
}
