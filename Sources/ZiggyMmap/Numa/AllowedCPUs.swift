import ZiggyKernel

/// The CPUs a thread may use, as the library reasons about them: its affinity — what `taskset`, a
/// cgroup cpuset or a launcher's `--bind-to` left it — except that a thread a ``Team`` pinned to
/// member 0's CPU keeps counting the CPUs it had before, so creating a team narrows nothing the
/// library later computes (teams, population, pinning, the topology's `allowedCPUs`).
enum AllowedCPUs {
    /// Threads a team pinned: kernel thread id → (the affinity before, teams holding the pin).
    private static let pinned = Locked<[Int32: (cpus: [Int], teams: Int)]>([:])

    /// The calling thread's allowed CPUs, ascending.
    static func current() -> [Int]? {
        if let saved = pinned.withLock({ $0[Kernel.threadID]?.cpus }) { return saved }
        return try? Kernel.getAffinity().get()
    }

    /// Pins the calling thread to `cpu` for a team, remembering what it may really use.
    static func pinForTeam(_ cpu: Int) -> Result<Int32, Errno> {
        let thread = Kernel.threadID
        let before = current() ?? []
        if case .failure(let error) = Kernel.setAffinity([cpu]) { return .failure(error) }
        pinned.withLock { pins in
            let held = pins[thread]
            pins[thread] = (held?.cpus ?? before, (held?.teams ?? 0) + 1)
        }
        return .success(thread)
    }

    /// A team that pinned `thread` ended: when it was the last, the thread gets its CPUs back
    /// (from whichever thread the team ends on).
    static func unpin(_ thread: Int32) {
        let restore: [Int]? = pinned.withLock { pins in
            guard let held = pins[thread] else { return nil }
            if held.teams > 1 {
                pins[thread] = (held.cpus, held.teams - 1)
                return nil
            }
            pins[thread] = nil
            return held.cpus
        }
        if let restore, !restore.isEmpty { _ = Kernel.setAffinity(restore, thread: thread) }
    }
}
