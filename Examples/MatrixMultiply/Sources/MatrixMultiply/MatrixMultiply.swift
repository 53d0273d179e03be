import ArgumentParser
import Foundation
import ZiggyMmap

@main
struct MatrixMultiply: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix-multiply",
        abstract: "OpenBLAS dgemm on buffers with 2 MiB pages and with base pages.")

    @Option(help: "Matrix order n (n × n doubles per matrix).")
    var size = 512

    @Option(help: "dgemm calls timed per page size (the best is reported).")
    var repeats = 3

    @Option(help: "As root: reserve this many 2 MiB hugetlb pages for the run (given back at the end).")
    var reserveHugepages = 0

    @Flag(help: "Refuse to fall back when 2 MiB hugetlb pages are short (the library's error, exit 1).")
    var strictHugePages = false

    func validate() throws {
        guard (1...(1 << 20)).contains(size) else { throw ValidationError("--size must be in 1...\(1 << 20)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        do throws(MmapError) {
            if reserveHugepages > 0 {
                // Given back when it ends, after the measurements.
                let reservation = try HugePageReservation(.huge2MiB, count: reserveHugepages)
                print("reserved \(reservation.granted) of \(reservation.requested) 2 MiB hugetlb pages")
                try multiply()
                reservation.release()
            } else {
                try multiply()
            }
        } catch {
            FileHandle.standardError.write(Data("matrix-multiply: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    func multiply() throws(MmapError) {
        // Fallback is visible: the backing names the page size obtained and why it is not 2 MiB.
        let huge = MmapAllocator(pageSize: .huge2MiB, fallback: strictHugePages ? .strict : .anySmaller, populate: .kernel)
        let base = MmapAllocator(pageSize: .base, populate: .kernel)

        // Correctness first, on a size the naive loop does quickly (97: no power-of-two luck).
        for (name, allocator) in [("huge", huge), ("base", base)] {
            let error = try check(allocator, n: 97)
            print("check \(name) pages, n = 97: max |dgemm − naive| = \(error)")
            guard error <= 1e-12 else { throw MmapError.invalidArgument("check failed: dgemm disagrees with the naive multiply") }
        }

        var rates: [Double] = []
        for (name, allocator) in [("huge", huge), ("base", base)] {
            var a = try allocator.allocate(Double.self, count: size * size)
            var b = try allocator.allocate(Double.self, count: size * size)
            var c = try allocator.allocate(Double.self, count: size * size)
            fill(&a, seed: 1)
            fill(&b, seed: 2)
            c.clear()
            var best = Double.infinity
            for _ in 0..<repeats {
                let start = ContinuousClock.now
                dgemm(a, b, into: &c, n: size)
                best = min(best, seconds(ContinuousClock.now - start))
            }
            let gflops = 2 * pow(Double(size), 3) / best / 1e9
            rates.append(gflops)
            print(
                "\(name): A \(a.backing.mapping?.obtainedPageSize ?? .base), B \(b.backing.mapping?.obtainedPageSize ?? .base), C \(c.backing.mapping?.obtainedPageSize ?? .base)"
                    + (a.backing.mapping?.fallbackReason.map { " (fell back: \($0))" } ?? ""))
            print("\(name): smaps of A: \(a.pageSizeReport())")
            print(String(format: "%@: n = %d dgemm best of %d: %.4f s, %.2f GFLOP/s", name, size, repeats, best, gflops))
        }
        print(String(format: "ratio: huge / base pages = %.2f×", rates[0] / rates[1]))
    }

    func check(_ allocator: MmapAllocator, n: Int) throws(MmapError) -> Double {
        var a = try allocator.allocate(Double.self, count: n * n)
        var b = try allocator.allocate(Double.self, count: n * n)
        var c = try allocator.allocate(Double.self, count: n * n, zeroed: true)
        fill(&a, seed: 3)
        fill(&b, seed: 4)
        dgemm(a, b, into: &c, n: n)
        var reference = naiveMultiply(a, b, n: n)
        return largestDifference(c, &reference)
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}
