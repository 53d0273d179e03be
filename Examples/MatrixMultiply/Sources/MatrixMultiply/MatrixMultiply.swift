import ArgumentParser
import Foundation
import ZiggyMmap

@main
struct MatrixMultiply: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix-multiply",
        abstract: "OpenBLAS dgemm on grids (padded leading dimension) with 2 MiB pages and with base pages.")

    @Option(help: "Matrix order n (n × n doubles per matrix).")
    var size = 512

    @Option(help: "dgemm calls timed per page size (the best is reported).")
    var repeats = 3

    @Option(help: "As root: reserve this many 2 MiB hugetlb pages for the run (given back at the end).")
    var reserveHugepages = 0

    @Option(help: "Storage order of the timed matrices: column (BLAS's own) or row.")
    var order: StorageOrder = .column

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

        // Correctness first, on a size the naive loop does quickly (97: no power-of-two luck, and
        // lines padded from 97 to 104 doubles, so a leading dimension that is not the extent would
        // show), in both orders.
        for (name, allocator) in [("huge", huge), ("base", base)] {
            for order in [Grid<Double>.Order.columnMajor, .rowMajor] {
                let (error, lda) = try check(allocator, n: 97, order: order)
                let orderName = order == .rowMajor ? "row" : "column"
                print("check \(name) pages, n = 97, \(orderName)-major, lda = \(lda): max |dgemm − naive| = \(error)")
                guard error <= 1e-12 else {
                    throw MmapError.invalidArgument("check failed: dgemm disagrees with the naive multiply")
                }
            }
        }

        var rates: [Double] = []
        for (name, allocator) in [("huge", huge), ("base", base)] {
            let extents = [size, size]
            var a = try Grid<Double>(extents: extents, order: order.grid, allocator: allocator)
            var b = try Grid<Double>(extents: extents, order: order.grid, allocator: allocator)
            var c = try Grid<Double>(extents: extents, order: order.grid, zeroed: true, allocator: allocator)
            if name == "huge" { print("layout: \(a.layout); lda = \(a.layout.leadingDimension)") }
            fill(&a, seed: 1)
            fill(&b, seed: 2)
            var best = Double.infinity
            for _ in 0..<repeats {
                let start = ContinuousClock.now
                dgemm(a, b, into: &c)
                best = min(best, seconds(ContinuousClock.now - start))
            }
            let gflops = 2 * pow(Double(size), 3) / best / 1e9
            rates.append(gflops)
            let (pa, pb, pc) = (a.buffer.backing.mapping, b.buffer.backing.mapping, c.buffer.backing.mapping)
            print(
                "\(name): A \(pa?.obtainedPageSize ?? .base), B \(pb?.obtainedPageSize ?? .base), C \(pc?.obtainedPageSize ?? .base)"
                    + (pa?.fallbackReason.map { " (fell back: \($0))" } ?? ""))
            print("\(name): smaps of A: \(a.buffer.pageSizeReport())")
            print(String(format: "%@: n = %d dgemm best of %d: %.4f s, %.2f GFLOP/s", name, size, repeats, best, gflops))
        }
        print(String(format: "ratio: huge / base pages = %.2f×", rates[0] / rates[1]))
    }

    /// dgemm against the naive multiply on n × n grids in `order`, cache-line padded; returns the
    /// largest difference and the leading dimension used.
    func check(_ allocator: MmapAllocator, n: Int, order: Grid<Double>.Order) throws(MmapError) -> (Double, Int) {
        var a = try Grid<Double>(extents: [n, n], order: order, allocator: allocator)
        var b = try Grid<Double>(extents: [n, n], order: order, allocator: allocator)
        // Zeroed, so its padding (which dgemm leaves alone) matches the reference's.
        var c = try Grid<Double>(extents: [n, n], order: order, zeroed: true, allocator: allocator)
        fill(&a, seed: 3)
        fill(&b, seed: 4)
        dgemm(a, b, into: &c)
        var reference = naiveMultiply(a, b, layout: c.layout)
        return (largestDifference(c.buffer, &reference), c.layout.leadingDimension)
    }
}

enum StorageOrder: String, ExpressibleByArgument, CaseIterable {
    case column, row
    var grid: Grid<Double>.Order { self == .row ? .rowMajor : .columnMajor }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}
