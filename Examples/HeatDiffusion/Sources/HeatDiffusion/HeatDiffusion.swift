import ArgumentParser
import Foundation
import ZiggyMmap

@main
struct HeatDiffusion: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heat-diffusion",
        abstract: "Jacobi heat diffusion on two team-placed grids, against flat buffers and [Double] + concurrentPerform.")

    @Option(help: "Cells per side.")
    var size = 512

    @Option(help: "Jacobi sweeps per version.")
    var iterations = 100

    @Option(help: "Times each version runs its sweeps (the best is reported).")
    var rounds = 3

    @Flag(help: "Skip the MemAvailable check, to see the library's own error for a request the host cannot map.")
    var noMemoryCheck = false

    func validate() throws {
        guard size >= 3 else { throw ValidationError("--size must be at least 3") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
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
        // The grid's shape is the program's; its padding (rows to whole cache lines, the default)
        // and where the team cuts it (whole rows on page boundaries) are the library's.
        let layout: Grid<Double>.Layout
        do {
            layout = try Grid<Double>.Layout([size, size])
        } catch {
            throw MmapError.request(error)
        }
        print("team: \(team.members.count) member(s) on node(s) \(NodeSet(team.members.map(\.node))); grid \(layout)")
        // Three versions of two grids each. Populating more than the host has would summon the
        // OOM killer rather than fail, so refuse up front (the library maps nothing it cannot touch).
        if !noMemoryCheck, let available = memoryAvailable(), 6 * layout.count * MemoryLayout<Double>.stride > available {
            let needed = 6 * layout.count * MemoryLayout<Double>.stride
            FileHandle.standardError.write(
                Data("heat-diffusion: error: --size \(size) needs \(needed) B, MemAvailable is \(available) B\n".utf8))
            throw ExitCode.failure
        }

        // Each member's block of rows bound to its node and first-touched by that member.
        var current = try team.allocate(Double.self, extents: [size, size])
        var next = try team.allocate(Double.self, extents: [size, size])
        print("blocks: \(team.blocks(of: current).map(\.description).joined(separator: "; "))")
        // The flat version works on grids' storage given up as flat buffers (no copy): the same
        // rows, pages and nodes, so only the code that sweeps them differs.
        var flatCurrent = try team.allocate(Double.self, extents: [size, size]).takeBuffer()
        var flatNext = try team.allocate(Double.self, extents: [size, size]).takeBuffer()
        let pitch = layout.leadingDimension
        var arrayCurrent: [Double] = []
        var arrayNext: [Double] = []

        var best = (grid: Double.infinity, flat: Double.infinity, array: Double.infinity)
        for _ in 0..<rounds {
            initialize(&current, team: team)
            initialize(&next, team: team)
            var start = ContinuousClock.now
            for _ in 0..<iterations {
                try sweep(&next, from: current, team: team)
                swap(&current, &next)
            }
            best.grid = min(best.grid, seconds(ContinuousClock.now - start))

            initialize(&flatCurrent, pitch: pitch, team: team)
            initialize(&flatNext, pitch: pitch, team: team)
            start = ContinuousClock.now
            for _ in 0..<iterations {
                sweep(&flatNext, from: flatCurrent, layout: layout, team: team)
                swap(&flatCurrent, &flatNext)
            }
            best.flat = min(best.flat, seconds(ContinuousClock.now - start))

            arrayCurrent = [Double](repeating: 0, count: layout.count)
            for c in 0..<size { arrayCurrent[c] = 1 }
            arrayNext = arrayCurrent
            start = ContinuousClock.now
            for _ in 0..<iterations {
                sweep(&arrayNext, from: arrayCurrent, layout: layout, chunks: team.members.count)
                swap(&arrayCurrent, &arrayNext)
            }
            best.array = min(best.array, seconds(ContinuousClock.now - start))
        }

        // Each sweep streams one grid in and one out (neighbour rows are reused from cache).
        let bytesPerSweep = Double(2 * size * size * MemoryLayout<Double>.stride)
        report("grid (Grid, forEachBlock)", best.grid, bytesPerSweep)
        report("flat (UnmanagedBuffer, forEachChunk)", best.flat, bytesPerSweep)
        report("[Double] + concurrentPerform", best.array, bytesPerSweep)
        print(String(format: "ratio: grid / flat speed = %.2f×", best.flat / best.grid))
        print(String(format: "ratio: team / [Double] speed = %.2f×", best.array / best.grid))
        let difference = maximumDifference(current, flatCurrent, arrayCurrent)
        print(
            difference == 0
                ? "check: results bitwise equal (grid, flat, [Double])" : "check: max |difference| = \(difference)")
        guard difference <= 1e-12 else { throw ExitCode.failure }

        let placedA = try showPlacement("grid A", current, team: team)
        let placedB = try showPlacement("grid B", next, team: team)
        guard placedA && placedB else {
            print("placement: FAILED: a block is not on its member's node")
            throw ExitCode.failure
        }
        print("placement: every block of both grids is on its member's node")
    }

    func report(_ name: String, _ seconds: Double, _ bytesPerSweep: Double) {
        let rate = Double(iterations) / seconds
        print(
            String(
                format: "%@: %d sweeps in %.3f s (best of %d), %.1f sweeps/s, %.2f GB/s effective", name, iterations,
                seconds, rounds, rate, rate * bytesPerSweep / 1e9))
    }

    /// Prints where the grid's pages are — the library's per-block report (`move_pages` on each
    /// block) and, independently, the kernel's numa_maps — and says whether every block is on its
    /// member's node.
    func showPlacement(_ name: String, _ grid: borrowing Grid<Double>, team: Team) throws -> Bool {
        print("\(name): \(try grid.buffer.placement())")
        let placement = try team.placement(of: grid)
        for (k, line) in placement.description.split(separator: "\n").enumerated() {
            print("\(name) block \(k): \(line)")
        }
        let (base, bytes) = grid.buffer.withUnsafeBufferPointer {
            (UInt(bitPattern: $0.baseAddress), $0.count * MemoryLayout<Double>.stride)
        }
        if let maps = NumaMapsView.read(start: base, byteCount: bytes) {
            print("\(name) numa_maps: \(maps)")
        } else {
            print("\(name) numa_maps: unreadable (no /proc/self/numa_maps on this kernel)")
        }
        return placement.isOnBlockNodes
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// The largest difference between the grid's cells and the flat buffer's and array's (their rows
/// `leadingDimension` apart, as the grid's are).
func maximumDifference(_ grid: borrowing Grid<Double>, _ flat: borrowing UnmanagedBuffer<Double>, _ array: [Double]) -> Double {
    let (rows, cols, pitch) = (grid.layout.extents[0], grid.layout.extents[1], grid.layout.leadingDimension)
    var largest = 0.0
    for i in 0..<rows {
        for j in 0..<cols {
            largest = max(largest, abs(grid[i, j] - flat[i * pitch + j]), abs(grid[i, j] - array[i * pitch + j]))
        }
    }
    return largest
}
