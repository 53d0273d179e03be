import CZiggyShims
import Glibc
import Testing
import ZiggyKernel

@testable import ZiggyMmap

/// How an empty team region scales with its members, in counts rather than times (the VM is
/// emulated: its clock says nothing about a real machine, its system calls do): futex waits and
/// wakes per region for teams of 1, 2, 4 and 8 spread over the VM's nodes, regions back to back
/// (members spinning) and regions apart (members asleep). Run only with ZIGGY_TEAM_REGION_COUNTS=1,
/// which Tests/NumaVM/team-region-counts sets inside the 4-node VM (or set it on a host for
/// `strace -f` runs): the futex counters are process-wide, so the suite must be the only one
/// running — in the gate's VM runs (run-numa-tests) other suites' teams run beside it and their
/// calls were counted here (a fresh clone's nodes=2/3/4 runs saw 3–8 calls with one member).
/// The NUMA teams article ("What a region costs, in counts") holds the figures.
@Suite(
    "Team regions in counts: futex calls per region by team size", .serialized,
    .enabled(
        if: getenv("ZIGGY_TEAM_REGION_COUNTS") != nil,
        "process-wide futex counts need this suite to run alone: run Tests/NumaVM/team-region-counts (it sets ZIGGY_TEAM_REGION_COUNTS=1 inside the 4-node VM)"
    ))
struct TeamRegionCountsNumaVMTests {
    /// The futex calls made while `body` runs (every team of the process counts; the suite is
    /// serialized and its teams are the only ones running).
    /// Between two marker lines `strace -f` shows as `write(-1, "ziggy-mark …", …) = -1 EBADF`
    /// (Tests/NumaVM/team-region-counts counts every system call of the phase from them).
    func futexCalls(_ phase: String, _ body: () throws -> Void) rethrows -> (waits: Double, wakes: Double) {
        mark("ziggy-mark begin \(phase)")
        defer { mark("ziggy-mark end \(phase)") }
        var waits0: UInt64 = 0
        var wakes0: UInt64 = 0
        zg_team_futex_calls(&waits0, &wakes0)
        try body()
        var waits1: UInt64 = 0
        var wakes1: UInt64 = 0
        zg_team_futex_calls(&waits1, &wakes1)
        return (Double(waits1 - waits0), Double(wakes1 - wakes0))
    }

    @Test("1, 2, 4 and 8 members: wakes per region stay constant, waits at most one per sleeping thread")
    func futexCallsPerRegion() throws {
        let cpus = NumaTopology.current().allowedCPUs.count
        let nodes = NumaTopology.current().nodesWithAllowedCPUs.count
        let backToBack = 200
        let apart = 20
        for size in [1, 2, 4, 8] {
            let team = try Team(threads: size, binding: .spread, oversubscribe: true)
            // Members started and spinning; their kernel thread ids go to strace's reader, which
            // counts only the team's threads (the test runtime's own threads make calls too).
            let tids = Locked([Int32](repeating: 0, count: size))
            team.run { member in
                let tid = zg_gettid()
                tids.withLock { $0[member.index] = tid }
            }
            mark("ziggy-mark tids \(tids.withLock { $0 }.map(String.init).joined(separator: " "))")
            let spinning = futexCalls("\(size) back-to-back \(backToBack)") {
                for _ in 0..<backToBack { team.run { _ in } }
            }
            // 50 ms apart: longer than a member's spin (Team.spin pauses), so every member of the
            // next region is asleep when it opens.
            let sleeping = futexCalls("\(size) apart \(apart)") {
                for _ in 0..<apart {
                    usleep(50_000)
                    team.run { _ in }
                }
            }
            let line =
                "team-region counts: \(size) member(s) on \(Set(team.members.map(\.node)).count) of \(nodes) node(s), "
                + "\(cpus) CPU(s): back to back \(format(spinning.waits / Double(backToBack))) waits + "
                + "\(format(spinning.wakes / Double(backToBack))) wakes a region; 50 ms apart "
                + "\(format(sleeping.waits / Double(apart))) waits + \(format(sleeping.wakes / Double(apart))) wakes a region"
            print(line)
            if size == 1 {
                #expect(spinning.waits + spinning.wakes + sleeping.waits + sleeping.wakes == 0, "\(line)")
                continue
            }
            // A wake is one FUTEX_WAKE for every sleeper on the word (the region word: the caller's
            // store; the completion word: the last member's arrival when the caller sleeps), so
            // wakes do not grow with members. A wait is one thread going to sleep once a region
            // at most (members on the region word, the caller on the completion word).
            #expect(sleeping.wakes <= Double(2 * apart + 1), "\(line)")
            #expect(spinning.wakes <= Double(2 * backToBack + 1), "\(line)")
            #expect(sleeping.waits <= Double(size * (apart + 1)), "\(line)")
            #expect(spinning.waits <= Double(size * (backToBack + 1)), "\(line)")
            if size <= cpus {
                // Asleep members need the caller's wake: at least one per region.
                #expect(sleeping.wakes >= Double(apart), "\(line)")
            }
        }
    }

    private func mark(_ text: String) {
        _ = text.withCString { write(-1, $0, strlen($0)) }
    }

    private func format(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
}
