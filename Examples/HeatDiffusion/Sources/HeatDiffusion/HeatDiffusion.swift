import ArgumentParser
import Foundation
import ZiggyMmap

@main
struct HeatDiffusion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heat-diffusion",
        abstract: "Jacobi heat diffusion on two team-placed grids, checked against [Double] + concurrentPerform.")

    @Option(help: "Cells per side (rounded up so the team's parts are whole row blocks).")
    var size = 512

    @Option(help: "Jacobi sweeps per version.")
    var iterations = 100

    @Flag(help: "Skip the MemAvailable check, to see the library's own error for a request the host cannot map.")
    var noMemoryCheck = false

    func validate() throws {
        guard size >= 3 else { throw ValidationError("--size must be at least 3") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard size <= 1 << 24 else { throw ValidationError("--size must be at most \(1 << 24)") }
    }

    func run() throws {
        do {
            try simulate()
        } catch let error as MmapError {
            // The library's typed error says what was asked and what the kernel answered.
            FileHandle.standardError.write(Data("heat-diffusion: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    func simulate() throws {
        let team = try Team()
        let shape = GridShape(size: size, members: team.count, pageBytes: PageSize.base.byteCount)
        print("team: \(team.count) member(s) on node(s) \(team.nodes); grid \(shape)")
        // Both versions hold two grids. Populating more than the host has would summon the OOM
        // killer rather than fail, so refuse up front (the library maps nothing it cannot touch).
        if !noMemoryCheck, let available = memoryAvailable(), 4 * shape.byteCount > available {
            FileHandle.standardError.write(
                Data("heat-diffusion: error: --size \(size) needs \(4 * shape.byteCount) B, MemAvailable is \(available) B\n".utf8))
            throw ExitCode.failure
        }

        // Blocked buffers: each member's part bound to its node, first-touched by that member.
        var current = try team.allocate(Double.self, count: shape.count)
        var next = try team.allocate(Double.self, count: shape.count)
        let schedule = team.schedule(for: current)
        print("schedule: \(schedule)")
        for part in schedule.parts {
            precondition(
                part.elements.lowerBound % shape.pitch == 0 && part.elements.upperBound % shape.pitch == 0,
                "part \(part) does not end on a row boundary")
        }
        initialize(&current, shape: shape, team: team)
        initialize(&next, shape: shape, team: team)

        let start = ContinuousClock.now
        for _ in 0..<iterations {
            sweep(&next, from: current, shape: shape, team: team)
            swap(&current, &next)
        }
        let teamSeconds = seconds(ContinuousClock.now - start)

        var arrayCurrent = [Double](repeating: 0, count: shape.count)
        for c in 0..<shape.cols { arrayCurrent[c] = 1 }
        var arrayNext = arrayCurrent
        let arrayStart = ContinuousClock.now
        for _ in 0..<iterations {
            sweep(&arrayNext, from: arrayCurrent, shape: shape, chunks: team.count)
            swap(&arrayCurrent, &arrayNext)
        }
        let arraySeconds = seconds(ContinuousClock.now - arrayStart)

        let difference = maximumDifference(current, arrayCurrent)
        // Each sweep streams one grid in and one out (neighbour rows are reused from cache).
        let bytesPerSweep = Double(2 * shape.byteCount)
        report("team (UnmanagedBuffer, forEachChunk)", teamSeconds, bytesPerSweep)
        report("[Double] + concurrentPerform", arraySeconds, bytesPerSweep)
        print(String(format: "ratio: team / [Double] speed = %.2f×", arraySeconds / teamSeconds))
        print(difference == 0 ? "check: results bitwise equal" : "check: max |difference| = \(difference)")
        guard difference <= 1e-12 else { throw ExitCode.failure }

        let placedA = try showPlacement("grid A", current, team: team)
        let placedB = try showPlacement("grid B", next, team: team)
        guard placedA && placedB else {
            print("placement: FAILED: a chunk is not on its scheduled node")
            throw ExitCode.failure
        }
        print("placement: every chunk of both grids is on its scheduled node")
    }

    func report(_ name: String, _ seconds: Double, _ bytesPerSweep: Double) {
        let rate = Double(iterations) / seconds
        print(
            String(
                format: "%@: %d sweeps in %.3f s, %.1f sweeps/s, %.2f GB/s effective", name, iterations, seconds, rate,
                rate * bytesPerSweep / 1e9))
    }

    /// Prints where the grid's pages are — the library's `placement()`, per chunk, and the kernel's
    /// numa_maps — and says whether chunk k is on the node the schedule bound it to.
    func showPlacement(_ name: String, _ grid: borrowing UnmanagedBuffer<Double>, team: Team) throws -> Bool {
        print("\(name): \(try grid.placement())")
        var ok = true
        for (k, part) in team.schedule(for: grid).parts.enumerated() where !part.elements.isEmpty {
            let placed = try grid.placement(elements: part.elements)
            let here = placed.nodes == [part.node] && placed.notPresent == 0
            ok = ok && here
            print(
                "\(name) chunk \(k): member \(part.member), elements \(part.elements), scheduled node \(part.node): "
                    + "\(placed) → \(here ? "on node \(part.node)" : "NOT on node \(part.node)")")
        }
        let base = grid.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        if let maps = NumaMapsView.read(start: base, byteCount: grid.byteCount) {
            print("\(name) numa_maps: \(maps)")
        } else {
            print("\(name) numa_maps: unreadable (no /proc/self/numa_maps on this kernel)")
        }
        return ok
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

func maximumDifference(_ grid: borrowing UnmanagedBuffer<Double>, _ array: [Double]) -> Double {
    var largest = 0.0
    for i in 0..<array.count { largest = max(largest, abs(grid[i] - array[i])) }
    return largest
}
