extension Team {
    /// How a team divides a buffer: contiguous parts in member order, each worked by one member and
    /// bound to one memory node, with every boundary on a page boundary of the buffer's page size —
    /// Chapel's Block distribution, in pages.
    ///
    /// Memory nodes get a share of the pages in proportion to the members working on them; a node
    /// with members is worked by its own members, a node with memory but no members (HBM or CXL
    /// memory, a node whose CPUs are not allowed) by the members of the nearest node by distance.
    /// Each node's pages are then split evenly among its workers. A part may be empty (more members
    /// than pages); the parts never overlap and together cover every element.
    public struct Schedule: Sendable, Hashable, CustomStringConvertible {
        /// One member's part of the buffer.
        public struct Part: Sendable, Hashable, CustomStringConvertible {
            /// The member that works on it.
            public let member: Int
            /// The node its memory is bound to.
            public let node: Int
            /// Its elements.
            public let elements: Range<Int>
            /// Its pages (of ``Team/Schedule/pageBytes``), from the buffer's start.
            public let pages: Range<Int>

            public var description: String { "member \(member): elements \(elements) on node \(node)" }
        }

        /// The parts, ascending by element.
        public let parts: [Part]
        /// The page size the boundaries follow.
        public let pageBytes: Int
        /// Elements scheduled (public as the count of the buffer scheduled).
        package let count: Int

        /// The parts member `member` works on, ascending (public as `parts.filter { $0.member == member }`).
        package func parts(of member: Int) -> [Part] { parts.filter { $0.member == member } }

        /// Consecutive pages bound to one node: what `mbind` gets, one call per run.
        var nodeRuns: [(node: Int, pages: Range<Int>)] {
            var runs: [(node: Int, pages: Range<Int>)] = []
            for part in parts where !part.pages.isEmpty {
                if let last = runs.last, last.node == part.node, last.pages.upperBound == part.pages.lowerBound {
                    runs[runs.count - 1].pages = last.pages.lowerBound..<part.pages.upperBound
                } else {
                    runs.append((part.node, part.pages))
                }
            }
            return runs
        }

        public var description: String { parts.map(\.description).joined(separator: "; ") }

        /// The same pages and members for `count` elements of `stride` bytes: each part's elements
        /// are those starting inside its pages (the rule the initializer applies).
        func retyped(count: Int, stride: Int) -> Schedule {
            Schedule(
                parts: parts.map { part in
                    Part(
                        member: part.member, node: part.node,
                        elements: Self.element(
                            atPage: part.pages.lowerBound, count, stride, pageBytes)..<Self.element(
                                atPage: part.pages.upperBound, count, stride, pageBytes),
                        pages: part.pages)
                }, pageBytes: pageBytes, count: count)
        }

        private init(parts: [Part], pageBytes: Int, count: Int) {
            self.parts = parts
            self.pageBytes = pageBytes
            self.count = count
        }

        /// lcm(pageBytes, granule) / pageBytes, or `totalPages` (one unit for everything) when the
        /// multiple is larger than the buffer or overflows.
        static func pagesPerUnit(pageBytes: Int, granule: Int, totalPages: Int) -> Int {
            let (unitBytes, overflow) = (pageBytes / greatestCommonDivisor(pageBytes, granule)).multipliedReportingOverflow(
                by: granule)
            return overflow ? totalPages : min(unitBytes / pageBytes, totalPages)
        }

        /// The first of `count` elements of `stride` bytes starting at or after page `page`
        /// (`count` past the last page, also when the byte size overflows).
        static func element(atPage page: Int, _ count: Int, _ stride: Int, _ pageBytes: Int) -> Int {
            let (bytes, overflow) = count.multipliedReportingOverflow(by: stride)
            let totalPages = overflow ? Int.max / pageBytes : bytes / pageBytes + (bytes % pageBytes == 0 ? 0 : 1)
            if page >= totalPages { return count }
            let (offset, pageOverflow) = page.multipliedReportingOverflow(by: pageBytes)
            return pageOverflow ? count : min(count, offset / stride + (offset % stride == 0 ? 0 : 1))
        }

        /// The schedule of `count` elements of `stride` bytes over `members` (a team's, never empty),
        /// on pages of `pageBytes`, with memory on `memoryNodes` (default: the members' nodes).
        /// `distance(a, b)` orders nodes for memory nodes without members. A count below 0 is taken as
        /// 0, a stride or page size below 1 as 1.
        ///
        /// `granule`: every cut is also a multiple of this many bytes from the start (a grid's row
        /// or plane, so that no row straddles two members' pages): the buffer is cut in units of
        /// the least common multiple of the page and the granule — whole units per member, so a
        /// member whose share is below one unit gets an empty part.
        init(
            count: Int, stride: Int, pageBytes: Int, members: [Team.Member], memoryNodes: NodeSet? = nil,
            granule: Int = 1, distance: (Int, Int) -> Int
        ) {
            let count = max(count, 0)
            let stride = max(stride, 1)
            let pageBytes = max(pageBytes, 1)
            let granule = max(granule, 1)
            self.count = count
            self.pageBytes = pageBytes
            let memberNodes = NodeSet(members.map(\.node))
            let targets = (memoryNodes?.isEmpty == false ? memoryNodes! : memberNodes).array
            // Who works on each memory node: its own members, else those of the nearest member node.
            let workers: [[Team.Member]] = targets.map { target in
                let home =
                    memberNodes.contains(target)
                    ? target
                    : memberNodes.min { (distance(target, $0), $0) < (distance(target, $1), $1) }!
                return members.filter { $0.node == home }
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: stride)
            let totalPages = overflow ? Int.max / pageBytes : bytes / pageBytes + (bytes % pageBytes == 0 ? 0 : 1)
            // Pages per unit of cutting: lcm(page, granule) / page (1 without a granule; the whole
            // buffer as one unit when the multiple overflows).
            let pagesPerUnit = max(1, Self.pagesPerUnit(pageBytes: pageBytes, granule: granule, totalPages: totalPages))
            let totalUnits = totalPages / pagesPerUnit + (totalPages % pagesPerUnit == 0 ? 0 : 1)
            let weight = workers.reduce(0) { $0 + $1.count }
            // Element index of the first element starting at or after page `page`; the end of the
            // last page is `count` even when count × stride overflows (the pages then stop short of
            // the bytes, and the last part takes the elements beyond them).
            func element(atPage page: Int) -> Int { Self.element(atPage: page, count, stride, pageBytes) }
            var parts: [Part] = []
            var workerSoFar = 0
            // value × numerator / denominator for numerator ≤ denominator, without overflowing
            // in between (a schedule of Int.max bytes on 1-byte pages is still a schedule).
            func share(_ value: Int, _ numerator: Int, _ denominator: Int) -> Int {
                let wide = value.multipliedFullWidth(by: numerator)
                return denominator.dividingFullWidth(wide).quotient
            }
            // Unit `u` begins at page u × pagesPerUnit (the last unit ends at the last page).
            func page(atUnit unit: Int) -> Int {
                let (page, overflow) = unit.multipliedReportingOverflow(by: pagesPerUnit)
                return overflow ? totalPages : min(page, totalPages)
            }
            for (target, group) in zip(targets, workers) {
                let firstUnit = share(totalUnits, workerSoFar, weight)
                workerSoFar += group.count
                let endUnit = share(totalUnits, workerSoFar, weight)
                for (rank, member) in group.enumerated() {
                    let low = page(atUnit: firstUnit + share(endUnit - firstUnit, rank, group.count))
                    let high = page(atUnit: firstUnit + share(endUnit - firstUnit, rank + 1, group.count))
                    parts.append(
                        Part(
                            member: member.index, node: target, elements: element(atPage: low)..<element(atPage: high),
                            pages: low..<high))
                }
            }
            self.parts = parts
        }
    }
}

extension Team {
    /// How this team divides `count` elements of `type` on pages of `pageSize` (see ``Team/Schedule``);
    /// public as ``schedule(for:)`` of the buffer the team allocated.
    package func schedule<T>(
        _ type: T.Type, count: Int, pageSize: PageSize = .base,
        memoryNodes: NodeSet? = nil
    ) -> Team.Schedule {
        schedule(T.self, count: count, pageSize: pageSize, memoryNodes: memoryNodes, granule: 1)
    }

    /// The schedule with every cut also on a multiple of `granule` bytes (a grid's rows or planes).
    func schedule<T>(_ type: T.Type, count: Int, pageSize: PageSize, memoryNodes: NodeSet?, granule: Int) -> Team.Schedule {
        Team.Schedule(
            count: count, stride: MemoryLayout<T>.stride, pageBytes: pageSize.byteCount, members: members,
            memoryNodes: memoryNodes, granule: granule,
            distance: { [topology] in topology.distance(from: $0, to: $1) ?? 255 })
    }
}
