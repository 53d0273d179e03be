import Glibc
import Synchronization
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

// Regions nested across teams (issue 20, item 2). The rule under test: a region started from
// inside a region of any team — a member's body, `forEachChunk`, a reduction — runs every member's
// share on the calling thread, one after another in member order; every member runs even when an
// earlier one throws, and the lowest member's error is rethrown. Before it, two teams nested in
// each other's regions deadlocked (every thread asleep in a futex).
//
// Every scenario runs in a child process (an exit test) under a watchdog: a deadlock makes the
// child print where it stood and exit 86 after `NestingScenario.watchdogSeconds`, so the test
// fails instead of hanging the suite. The child's report goes to a file the test prints (or
// records as the failure's explanation).
@Suite("Teams: regions nested across teams")
struct TeamNestingTests {
    @Test("a member of team A runs a region of B whose member runs a region of A: serial on the caller, in member order")
    func crossNesting() async { await Self.inChild(.crossNesting) }

    @Test("two threads run first.run { second.run {} } with the teams in opposite order")
    func oppositeOrder() async { await Self.inChild(.oppositeOrder) }

    @Test("three teams nested A{B{C{A}}} on one thread, and rotated on three threads at once")
    func threeTeams() async { await Self.inChild(.threeTeams) }

    @Test("regions and reductions inside another team's forEachChunk, from two threads in opposite order")
    func insideForEachChunk() async { await Self.inChild(.insideForEachChunk) }

    @Test("nesting on one thread while another drives both teams: each region gets exactly its own members' errors")
    func nestingBesideDriver() async { await Self.inChild(.nestingBesideDriver) }

    @Test("a nested region runs every member although earlier ones throw, and rethrows the lowest member's error")
    func nestedErrors() async { await Self.inChild(.nestedErrors) }

    @Test("two threads taking turns on one team, no nesting: each region rethrows exactly its own members' error")
    func turnsWithErrors() async { await Self.inChild(.turnsWithErrors) }

    /// Runs `scenario` in a child process; a child that fails a check, traps or is stopped by the
    /// watchdog fails the test with its report.
    static func inChild(_ scenario: NestingScenario) async {
        let reportPath = "/tmp/ziggy-nesting-\(getpid())-\(UInt32.random(in: 0 ... .max)).log"
        defer { unlink(reportPath) }
        let result = await #expect(processExitsWith: .success, "scenario '\(scenario.rawValue)' (report below)") {
            [name = scenario.rawValue as String, reportPath = reportPath as String] in
            let fd = open(reportPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            precondition(fd >= 0, "cannot create \(reportPath)")
            dup2(fd, STDOUT_FILENO)
            dup2(fd, STDERR_FILENO)
            close(fd)
            exit(NestingScenario(rawValue: name)!.runUnderWatchdog() ? EXIT_SUCCESS : EXIT_FAILURE)
        }
        let report = Kernel.readText(reportPath) ?? ""
        if result == nil {
            Issue.record("scenario '\(scenario.rawValue)' report:\n\(report.isEmpty ? "(empty)" : report)")
        } else {
            print("nesting '\(scenario.rawValue)': \(report)", terminator: report.hasSuffix("\n") ? "" : "\n")
        }
    }
}

/// The nesting shapes, each run in its own child process.
enum NestingScenario: String, CaseIterable {
    case crossNesting, oppositeOrder, threeTeams, insideForEachChunk, nestingBesideDriver, nestedErrors, turnsWithErrors

    /// How long a scenario may run before the watchdog calls it a deadlock. Each takes well under
    /// a second natively; ThreadSanitizer and a loaded machine make that many times longer.
    static let watchdogSeconds: UInt32 = 60

    /// The scenario's checks so far, for the report (and the watchdog's message).
    static let progress = Locked<[String]>([])
    static let failures = Locked<[String]>([])

    static func note(_ text: String) { progress.withLock { $0.append(text) } }
    static func check(_ condition: Bool, _ text: @autoclosure () -> String) {
        if !condition { failures.withLock { $0.append(text()) } }
    }

    /// Runs the scenario with a watchdog thread that ends the process if it does not finish in
    /// time; returns whether every check passed.
    func runUnderWatchdog() -> Bool {
        Watchdog.start(label: rawValue, seconds: Self.watchdogSeconds)
        do {
            try run()
        } catch {
            Self.failures.withLock { $0.append("threw \(error)") }
        }
        let failures = Self.failures.withLock { $0 }
        let steps = Self.progress.withLock { $0 }
        print(steps.joined(separator: "; "))
        for failure in failures { print("FAILED: \(failure)") }
        return failures.isEmpty
    }

    func run() throws {
        switch self {
        case .crossNesting: try Self.crossNesting()
        case .oppositeOrder: try Self.oppositeOrder()
        case .threeTeams: try Self.threeTeams()
        case .insideForEachChunk: try Self.insideForEachChunk()
        case .nestingBesideDriver: try Self.nestingBesideDriver()
        case .nestedErrors: try Self.nestedErrors()
        case .turnsWithErrors: try Self.turnsWithErrors()
        }
    }

    /// Two members per team whatever the machine (members share CPUs when there are fewer).
    static func team() throws -> Team { try Team(threads: 2, oversubscribe: true) }

    static var threadIdentity: UInt { UInt(bitPattern: Int(Kernel.threadID)) }

    /// A plain region of `team` still runs member 1 on a thread other than the caller's: nesting
    /// left the team a team.
    static func expectParallel(_ team: Team, _ name: String) {
        let caller = threadIdentity
        let threads = Locked<[Int: UInt]>([:])
        team.run { member in
            let me = threadIdentity
            threads.withLock { $0[member.index] = me }
        }
        let seen = threads.withLock { $0 }
        check(seen.count == team.count, "\(name): a plain region ran \(seen.count) of \(team.count) members")
        check(seen[0] == caller, "\(name): member 0 of a plain region ran off the calling thread")
        check(seen[1] != caller, "\(name): member 1 of a plain region ran on the calling thread (the team stopped being parallel)")
    }

    // MARK: scenarios

    static func crossNesting() throws {
        let a = try team()
        let b = try team()
        let innermost = Atomic<Int>(0)
        let offThread = Atomic<Int>(0)
        let rounds = 200
        for _ in 0..<rounds {
            a.run { _ in
                let caller = threadIdentity
                let order = Locked<[Int]>([])
                b.run { bMember in
                    if threadIdentity != caller { offThread.add(1, ordering: .relaxed) }
                    order.withLock { $0.append(bMember.index) }
                    a.run { aMember in
                        if threadIdentity != caller { offThread.add(1, ordering: .relaxed) }
                        check(aMember.teamSize == a.count, "the innermost region's member says team size \(aMember.teamSize)")
                        innermost.add(1, ordering: .relaxed)
                    }
                }
                let ran = order.withLock { $0 }
                check(ran == Array(0..<b.count), "B's shares inside A's member ran in the order \(ran)")
            }
        }
        let expected = rounds * a.count * b.count * a.count
        note("A{B{A}} × \(rounds): \(innermost.load(ordering: .relaxed)) innermost shares")
        check(
            innermost.load(ordering: .relaxed) == expected,
            "\(innermost.load(ordering: .relaxed)) innermost shares ran, expected \(expected)")
        check(
            offThread.load(ordering: .relaxed) == 0,
            "\(offThread.load(ordering: .relaxed)) nested shares ran off the thread that started them")
        expectParallel(a, "A")
        expectParallel(b, "B")
    }

    static func oppositeOrder() throws {
        let a = try team()
        let b = try team()
        let inner = Atomic<Int>(0)
        let rounds = 500
        ThreadRunner.run(count: 2) { thread in
            let (first, second) = thread == 0 ? (a, b) : (b, a)
            for _ in 0..<rounds {
                first.run { _ in second.run { _ in inner.add(1, ordering: .relaxed) } }
            }
        }
        let expected = 2 * rounds * 2 * 2
        note("A{B} and B{A} on two threads × \(rounds): \(inner.load(ordering: .relaxed)) inner shares")
        check(
            inner.load(ordering: .relaxed) == expected, "\(inner.load(ordering: .relaxed)) inner shares ran, expected \(expected)")
        expectParallel(a, "A")
        expectParallel(b, "B")
    }

    static func threeTeams() throws {
        let teams = [try team(), try team(), try team()]
        let deepest = Atomic<Int>(0)
        let offThread = Atomic<Int>(0)
        let (a, b, c) = (teams[0], teams[1], teams[2])
        for _ in 0..<100 {
            a.run { _ in
                let caller = threadIdentity
                b.run { _ in
                    c.run { _ in
                        a.run { _ in
                            if threadIdentity != caller { offThread.add(1, ordering: .relaxed) }
                            deepest.add(1, ordering: .relaxed)
                        }
                    }
                }
            }
        }
        note("A{B{C{A}}} × 100: \(deepest.load(ordering: .relaxed)) deepest shares")
        check(deepest.load(ordering: .relaxed) == 100 * 16, "\(deepest.load(ordering: .relaxed)) deepest shares, expected 1600")
        check(offThread.load(ordering: .relaxed) == 0, "\(offThread.load(ordering: .relaxed)) nested shares ran off their thread")
        let rotated = Atomic<Int>(0)
        let rounds = 300
        ThreadRunner.run(count: 3) { thread in
            let (x, y, z) = (teams[thread], teams[(thread + 1) % 3], teams[(thread + 2) % 3])
            for _ in 0..<rounds {
                x.run { _ in y.run { _ in z.run { _ in rotated.add(1, ordering: .relaxed) } } }
            }
        }
        note("A{B{C}}, B{C{A}}, C{A{B}} on three threads × \(rounds): \(rotated.load(ordering: .relaxed)) shares")
        check(
            rotated.load(ordering: .relaxed) == 3 * rounds * 8,
            "\(rotated.load(ordering: .relaxed)) rotated shares, expected \(3 * rounds * 8)")
        for (index, team) in teams.enumerated() { expectParallel(team, "team \(index)") }
    }

    static func insideForEachChunk() throws {
        let a = try team()
        let b = try team()
        let count = 1 << 16
        let wrong = Atomic<Int>(0)
        let innerRegions = Atomic<Int>(0)
        let sums = Locked<[Double]>([])
        ThreadRunner.run(count: 2) { thread in
            let (outer, inner) = thread == 0 ? (a, b) : (b, a)
            var written = try! SystemMemoryAllocator().allocate(Double.self, count: count, zeroed: true)
            var filled = try! SystemMemoryAllocator().allocate(Double.self, count: 4096, zeroed: true)
            for i in 0..<filled.count { filled[i] = Double(i) }
            let read = filled
            let expectedSum = Double(read.count * (read.count - 1) / 2)
            for round in 0..<40 {
                outer.forEachChunk(of: &written) { _, range, part in
                    // A region, a reduction and a forEachChunk of the other team inside this chunk.
                    inner.run { _ in innerRegions.add(1, ordering: .relaxed) }
                    let sum = inner.sum(read)
                    if sum != expectedSum { sums.withLock { $0.append(sum) } }
                    let covered = Atomic<Int>(0)
                    inner.forEachChunk(reading: read) { _, innerRange, _ in covered.add(innerRange.count, ordering: .relaxed) }
                    if covered.load(ordering: .relaxed) != read.count { wrong.add(1, ordering: .relaxed) }
                    for i in 0..<part.count { part[i] = Double(range.lowerBound + i + round) }
                }
                for i in stride(from: 0, to: count, by: 997) where written[i] != Double(i + round) {
                    wrong.add(1, ordering: .relaxed)
                }
            }
        }
        let badSums = sums.withLock { $0 }
        note("forEachChunk{run, sum, forEachChunk} on two threads × 40: \(innerRegions.load(ordering: .relaxed)) inner shares")
        check(badSums.isEmpty, "nested sums differ from the serial sum: \(badSums.prefix(3))")
        check(
            wrong.load(ordering: .relaxed) == 0, "\(wrong.load(ordering: .relaxed)) chunks were not covered or written exactly once"
        )
        // Each outer chunk call (2 members × 2 threads × 40 rounds) ran 2 inner shares.
        check(
            innerRegions.load(ordering: .relaxed) == 2 * 2 * 40 * 2,
            "\(innerRegions.load(ordering: .relaxed)) inner shares, expected 320")
        expectParallel(a, "A")
        expectParallel(b, "B")
    }

    /// An error carrying which region threw it.
    struct Tagged: Error, Equatable {
        let region: Int
        let member: Int
    }

    static func nestingBesideDriver() throws {
        let a = try team()
        let b = try team()
        let regionNumbers = Atomic<Int>(0)
        let wrongErrors = Locked<[String]>([])
        let regions = Atomic<Int>(0)
        let rounds = 400
        ThreadRunner.run(count: 2) { thread in
            for _ in 0..<rounds {
                if thread == 0 {
                    // Nested: each of A's members runs B serially, B's member 1 throwing.
                    a.run { _ in
                        let tag = regionNumbers.add(1, ordering: .relaxed).newValue
                        do throws(Tagged) {
                            try b.run { (member) throws(Tagged) in
                                if member.index == 1 { throw Tagged(region: tag, member: 1) }
                            }
                            wrongErrors.withLock { $0.append("nested region \(tag): no error") }
                        } catch {
                            if error != Tagged(region: tag, member: 1) {
                                wrongErrors.withLock { $0.append("nested region \(tag) got \(error)") }
                            }
                        }
                        regions.add(1, ordering: .relaxed)
                    }
                } else {
                    // Plain regions of both teams, their member 1 throwing.
                    for team in [b, a] {
                        let tag = regionNumbers.add(1, ordering: .relaxed).newValue
                        do throws(Tagged) {
                            try team.run { (member) throws(Tagged) in
                                if member.index == 1 { throw Tagged(region: tag, member: 1) }
                            }
                            wrongErrors.withLock { $0.append("plain region \(tag): no error") }
                        } catch {
                            if error != Tagged(region: tag, member: 1) {
                                wrongErrors.withLock { $0.append("plain region \(tag) got \(error)") }
                            }
                        }
                        regions.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        let wrong = wrongErrors.withLock { $0 }
        note("A{B} beside plain A and B regions × \(rounds): \(regions.load(ordering: .relaxed)) regions checked")
        check(regions.load(ordering: .relaxed) == rounds * 2 + rounds * 2, "\(regions.load(ordering: .relaxed)) regions ran")
        check(wrong.isEmpty, "\(wrong.count) regions got another region's error or none: \(wrong.prefix(4))")
        expectParallel(a, "A")
        expectParallel(b, "B")
    }

    static func nestedErrors() throws {
        let a = try team()
        let b = try Team(threads: 3, oversubscribe: true)
        let problems = Locked<[String]>([])
        a.run { _ in
            for thrower in [[0], [1, 2], [0, 1, 2], [2]] {
                let ran = Locked<[Int]>([])
                do throws(Tagged) {
                    try b.run { (member) throws(Tagged) in
                        ran.withLock { $0.append(member.index) }
                        if thrower.contains(member.index) { throw Tagged(region: 0, member: member.index) }
                    }
                    problems.withLock { $0.append("members \(thrower) threw, the nested region returned normally") }
                } catch {
                    if error.member != thrower.min() {
                        problems.withLock {
                            $0.append("members \(thrower) threw, the nested region rethrew member \(error.member)'s")
                        }
                    }
                }
                let order = ran.withLock { $0 }
                if order != [0, 1, 2] { problems.withLock { $0.append("members \(thrower) threw; the members ran as \(order)") } }
            }
        }
        let found = problems.withLock { $0 }
        note("nested regions with throwing members: \(found.count) problems")
        check(found.isEmpty, found.joined(separator: "; "))
        // The teams stay usable: a plain region afterwards runs every member and throws nothing.
        expectParallel(a, "A")
        expectParallel(b, "B")
    }
}

extension NestingScenario {
    /// Not nesting, but the same promise: regions of one team from two threads take turns, and a
    /// region's error is taken while it still holds its turn (a region that throws nothing, whose
    /// error type may be `Never`, must never receive the other thread's error).
    static func turnsWithErrors() throws {
        let team = try team()
        let regionNumbers = Atomic<Int>(0)
        let wrongErrors = Locked<[String]>([])
        let rounds = 2_000
        ThreadRunner.run(count: 2) { thread in
            for _ in 0..<rounds {
                if thread == 0 {
                    team.run { _ in }  // throws(Never)
                    continue
                }
                let tag = regionNumbers.add(1, ordering: .relaxed).newValue
                do throws(Tagged) {
                    try team.run { (member) throws(Tagged) in
                        if member.index == 1 { throw Tagged(region: tag, member: 1) }
                    }
                    wrongErrors.withLock { $0.append("region \(tag): no error") }
                } catch {
                    if error != Tagged(region: tag, member: 1) { wrongErrors.withLock { $0.append("region \(tag) got \(error)") } }
                }
            }
        }
        let wrong = wrongErrors.withLock { $0 }
        note("a throwing and a non-throwing thread taking turns × \(rounds): \(wrong.count) wrong errors")
        check(wrong.isEmpty, "\(wrong.count) regions got another region's error or none: \(wrong.prefix(4))")
        expectParallel(team, "the team")
    }
}

/// Ends the process if the scenario is still running after `seconds`, saying how far it got.
private final class Watchdog: @unchecked Sendable {
    let label: String
    let seconds: UInt32

    private init(label: String, seconds: UInt32) {
        self.label = label
        self.seconds = seconds
    }

    static func start(label: String, seconds: UInt32) {
        let context = Unmanaged.passRetained(Watchdog(label: label, seconds: seconds)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                let dog = Unmanaged<Watchdog>.fromOpaque(raw!).takeRetainedValue()
                var left = dog.seconds
                while left > 0 { left = sleep(left) }
                let steps = NestingScenario.progress.withLock { $0 }
                let text =
                    "watchdog: scenario '\(dog.label)' still running after \(dog.seconds) s — deadlocked "
                    + "(finished steps: \(steps.isEmpty ? "none" : steps.joined(separator: "; ")))\n"
                _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
                _exit(86)
            }, context)
        precondition(rc == 0, "cannot start the watchdog thread (\(rc))")
        pthread_detach(thread)
    }
}
