import ArgumentParser
import Foundation
import ZiggyMmap

@main
struct Stencil3D: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stencil-3d",
        abstract: "A 3-D 7-point Jacobi stencil on two team-placed grids, checked against a naive version.")

    @Option(help: "Cells per side of the cube (planes × rows × columns).")
    var size = 128

    @Option(help: "Jacobi sweeps per version.")
    var iterations = 10

    @Option(help: "Times each version runs its sweeps (the best is reported).")
    var rounds = 3

    @Flag(help: "Skip the MemAvailable check, to see the library's own error for a request the host cannot map.")
    var noMemoryCheck = false

    func validate() throws {
        guard size >= 3 else { throw ValidationError("--size must be at least 3") }
        guard size <= 1 << 20 else { throw ValidationError("--size must be at most \(1 << 20)") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
    }

    func run() throws {
        do {
            try simulate()
        } catch let error as MmapError {
            // The library's typed error says what was asked and what the kernel answered.
            FileHandle.standardError.write(Data("stencil-3d: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    func simulate() throws {
        let team = try Team()
        let extents = [size, size, size]
        let layout: Grid<Double>.Layout
        do {
            layout = try Grid<Double>.Layout(extents)
        } catch {
            throw MmapError.request(error)
        }
        print("team: \(team.members.count) member(s) on node(s) \(NodeSet(team.members.map(\.node))); grid \(layout)")
        // Two grids and two naive arrays. Populating more than the host has would summon the OOM
        // killer rather than fail, so refuse up front.
        let needed = 2 * layout.count * MemoryLayout<Double>.stride + 2 * size * size * size * MemoryLayout<Double>.stride
        if !noMemoryCheck, let available = memoryAvailable(), needed > available {
            FileHandle.standardError.write(
                Data("stencil-3d: error: --size \(size) needs \(needed) B, MemAvailable is \(available) B\n".utf8))
            throw ExitCode.failure
        }

        // Blocks of whole planes, each starting on a page, bound to its member's node and first
        // touched by that member.
        var current = try team.allocate(Double.self, extents: extents)
        var next = try team.allocate(Double.self, extents: extents)
        print("blocks: \(team.blocks(of: current).map(\.description).joined(separator: "; "))")
        var naive = NaiveCube(size: size)
        var naiveNext = naive
        var best = (team: Double.infinity, naive: Double.infinity)
        for _ in 0..<rounds {
            initialize(&current, team: team)
            initialize(&next, team: team)
            var start = ContinuousClock.now
            for _ in 0..<iterations {
                try sweep(&next, from: current, team: team)
                swap(&current, &next)
            }
            best.team = min(best.team, seconds(ContinuousClock.now - start))

            naive = NaiveCube(size: size)
            start = ContinuousClock.now
            for _ in 0..<iterations {
                naiveNext.sweep(from: naive)
                swap(&naive, &naiveNext)
            }
            best.naive = min(best.naive, seconds(ContinuousClock.now - start))
        }

        let cells = Double(size * size * size)
        print(
            String(
                format: "team (Grid, forEachBlock, %d members): %d sweeps in %.3f s (best of %d), %.1f Mcell/s", team.members.count,
                iterations, best.team, rounds, cells * Double(iterations) / best.team / 1e6))
        print(
            String(
                format: "naive ([Double], one thread): %d sweeps in %.3f s (best of %d), %.1f Mcell/s", iterations,
                best.naive, rounds, cells * Double(iterations) / best.naive / 1e6))
        print(String(format: "ratio: team / naive speed = %.2f×", best.naive / best.team))
        let difference = naive.largestDifference(from: current)
        print(difference == 0 ? "check: results bitwise equal" : "check: max |team − naive| = \(difference)")
        guard difference == 0 else { throw ExitCode.failure }

        var everywhere = true
        for (name, placement) in [("grid A", try team.placement(of: current)), ("grid B", try team.placement(of: next))] {
            for (k, line) in placement.description.split(separator: "\n").enumerated() {
                print("\(name) block \(k): \(line)")
            }
            everywhere = everywhere && placement.isOnBlockNodes
        }
        guard everywhere else {
            print("placement: FAILED: a block is not on its member's node")
            throw ExitCode.failure
        }
        print("placement: every block of both grids is on its member's node")
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// MemAvailable from /proc/meminfo, in bytes (nil where the file says nothing).
func memoryAvailable() -> Int? {
    guard let handle = FileHandle(forReadingAtPath: "/proc/meminfo") else { return nil }
    defer { try? handle.close() }
    // Read to the end: /proc files report size 0, so a sized read would stop short.
    let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
    }
    return nil
}
