import CZiggyShims
import ZiggyKernel

/// What the team's threads share: the region word they wait on with the current region's work
/// beside it, the completion count, the members' error slots. The work is written before the
/// region word is stored (release) and read after it is loaded (acquire), so each member sees it.
final class TeamState: @unchecked Sendable {
    let count: Int
    /// Whether every member is a thread of the team (the caller only waits) rather than the caller
    /// being member 0.
    let dedicated: Bool
    /// Serializes regions; holds the number of regions run (a sized value: ThreadSanitizer
    /// misattributed accesses to a zero-sized guarded value).
    let regionLock = Locked(0)
    /// Each member's error of the current region, kept for the team's life (a region allocates
    /// only its work object).
    let errors: MemberSlots<(any Error)?>
    /// Two cache lines: the region word with the current work's address, and the completion count.
    /// Members spin on the first and find the work in the same line; the caller spins on the
    /// second. Sharing one line made every arrival invalidate the spinners' copy (measured: 1.8 µs
    /// a region), and reading the work from a Swift property and retaining it cost two more line
    /// transfers per member (the property's object, the closure's reference count).
    private let words = UnsafeMutableRawPointer.allocate(byteCount: 2 * TeamState.lineBytes, alignment: TeamState.lineBytes)
    private static let lineBytes = 128
    private static let workOffset = 16
    private var region: UnsafeMutablePointer<zg_word> { words.assumingMemoryBound(to: zg_word.self) }
    private var done: UnsafeMutablePointer<zg_word> { (words + Self.lineBytes).assumingMemoryBound(to: zg_word.self) }
    /// The current region's work, unretained (nil: the members stop); written only by the caller
    /// before it opens a region, read by members after they see it open.
    private var currentWork: UnsafeRawPointer? {
        get { (words + Self.workOffset).load(as: UnsafeRawPointer?.self) }
        set { (words + Self.workOffset).storeBytes(of: newValue, as: UnsafeRawPointer?.self) }
    }
    private var threads: [Kernel.Thread] = []

    init(count: Int, dedicated: Bool = false) {
        self.count = count
        self.dedicated = dedicated
        errors = MemberSlots(count: count, initial: nil)
        for offset in [0, Self.lineBytes] {
            (words + offset).initializeMemory(as: zg_word.self, to: zg_word(value: 0, sleepers: 0))
        }
        currentWork = nil
    }

    deinit {
        words.deallocate()
    }

    /// Starts members 1...; returns the first error (the threads already started are then stopped
    /// by the caller).
    func start(members: [Team.Member]) -> MmapError? {
        for member in dedicated ? members[...] : members.dropFirst() {
            let context = Unmanaged.passRetained(MemberContext(state: self, member: member)).toOpaque()
            let started = Kernel.createThread(context) { raw in
                let context = Unmanaged<MemberContext>.fromOpaque(raw!).takeRetainedValue()
                context.state.memberLoop(context.member)
                return nil
            }
            switch started {
            case .success(let thread): threads.append(thread)
            case .failure(let error):
                Unmanaged<MemberContext>.fromOpaque(context).release()
                return .kernel(call: "pthread_create", errno: error, request: "starting team member \(member.index)")
            }
        }
        return nil
    }

    /// Runs one region: publish the work, wake the members, do member 0's share, wait for the rest.
    /// `work` stays alive for the call; members use it unretained.
    func runRegion(_ work: _RegionWorkBase) {
        #if ENABLE_MOCKING
        // The members are long-lived threads: they run the region under the caller's fault plan.
        work.plan = Kernel.plan
        #endif
        withExtendedLifetime(work) {
            currentWork = UnsafeRawPointer(Unmanaged.passUnretained(work).toOpaque())
            zg_word_store_wake(done, 0)
            let next = zg_word_load(region) &+ 1
            zg_word_store_wake(region, next)
            if dedicated {
                // The caller has no share: it sleeps at once rather than spin against the members.
                zg_word_wait_equal(done, UInt32(count), 0)
            } else {
                zg_team_set_current(UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque()))
                work.enter(0)
                zg_team_set_current(nil)
                zg_word_wait_equal(done, UInt32(count - 1), Team.spin)
            }
        }
    }

    /// Ends the members' loops and joins them.
    func stop() {
        currentWork = nil
        zg_word_store_wake(region, zg_word_load(region) &+ 1)
        for thread in threads { thread.join() }
        threads = []
    }

    fileprivate func memberLoop(_ member: Team.Member) {
        _ = Kernel.setAffinity([member.cpu])
        zg_team_set_current(UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque()))
        // 0, not a fresh load: a region opened before this thread first looks must not be missed.
        var seen: UInt32 = 0
        while true {
            seen = zg_word_wait_change(region, seen, Team.spin)
            guard let work = currentWork else { return }
            // Unretained: the caller keeps the work alive until every member has arrived below.
            Unmanaged<_RegionWorkBase>.fromOpaque(work)._withUnsafeGuaranteedRef { $0.enter(member.index) }
            zg_word_add_wake_at(done, 1, UInt32(dedicated ? count : count - 1))
        }
    }
}

final class MemberContext: Sendable {
    let state: TeamState
    let member: Team.Member
    init(state: TeamState, member: Team.Member) {
        self.state = state
        self.member = member
    }
}
