import ArgumentParser
import CFFTW
import ComplexModule
import Foundation
import ZiggyMmap

@main
struct ComplexFFT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "complex-fft",
        abstract: "FFTW on UnmanagedBuffer and Grid of Complex<Double>: 1-D and 2-D, on 2 MiB and base pages.")

    @Option(help: "Side of the 2-D transform timed (size × size Complex<Double> elements).")
    var size = 256

    @Option(help: "Executions timed per page size (the best is reported).")
    var repeats = 5

    func validate() throws {
        guard (1...(1 << 24)).contains(size) else { throw ValidationError("--size must be in 1...\(1 << 24)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        do {
            try check()
            try check2D()
            try time()
        } catch {
            // The library's typed errors (MmapError, AllocationError) print what was asked and why not.
            FileHandle.standardError.write(Data("complex-fft: error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// Forward against the naive DFT, then the inverse (FFTW's is unnormalised: scale by 1/n).
    func check() throws {
        let n = 60  // not a power of two: exercises FFTW's mixed-radix codelets
        let heap = SystemMemoryAllocator()
        var x = try heap.allocate(Complex<Double>.self, count: n, alignment: 64)
        var spectrum = try heap.allocate(Complex<Double>.self, count: n, alignment: 64)
        var back = try heap.allocate(Complex<Double>.self, count: n, alignment: 64)
        fillSignal(&x)
        let reference = naiveDFT(x)
        transform(&x, into: &spectrum, sign: FFTW_FORWARD)
        var forwardError = 0.0
        for k in 0..<n { forwardError = max(forwardError, (spectrum[k] - reference[k]).length) }
        transform(&spectrum, into: &back, sign: FFTW_BACKWARD)
        var inverseError = 0.0
        for j in 0..<n { inverseError = max(inverseError, (scaled(back[j], 1 / Double(n)) - x[j]).length) }
        print(
            "check n = \(n) (malloc, alignment 64, fftw_alignment_of = \(fftwAlignment(x))): "
                + "max |fft − naive dft| = \(forwardError), max |ifft(fft(x))/n − x| = \(inverseError)")
        guard forwardError <= 1e-9, inverseError <= 1e-12 else {
            throw CheckFailed("FFTW disagrees with the naive DFT or the inverse")
        }
    }

    /// The 2-D transform against the naive 2-D DFT, and the inverse, on 12 × 10 grids: unpadded
    /// ones through fftw_plan_dft_2d, and rows padded to cache lines (10 elements, 160 B, in lines
    /// of 12) through fftw_plan_many_dft with the leading dimension as the embedded row length.
    func check2D() throws {
        let heap = SystemMemoryAllocator()
        for padding in [Grid<Complex<Double>>.Padding.none, .cacheLine] {
            var x = try complexGrid([12, 10], padding: padding, allocator: heap)
            var spectrum = try complexGrid([12, 10], padding: padding, allocator: heap)
            var back = try complexGrid([12, 10], padding: padding, allocator: heap)
            fillSignal(&x)
            let reference = naiveDFT(x)
            transform(&x, into: &spectrum, sign: FFTW_FORWARD)
            var forwardError = 0.0
            for k0 in 0..<12 {
                for k1 in 0..<10 { forwardError = max(forwardError, (spectrum[k0, k1] - reference[k0 * 10 + k1]).length) }
            }
            transform(&spectrum, into: &back, sign: FFTW_BACKWARD)
            let inverseError = largestDifference(back, scaledBy: 120, x)
            let plan = padding == .none ? "fftw_plan_dft_2d" : "fftw_plan_many_dft, inembed {12, \(x.layout.leadingDimension)}"
            print(
                "check 12 × 10 (\(plan), rows of \(x.layout.leadingDimension)): "
                    + "max |fft − naive dft| = \(forwardError), max |ifft(fft(x))/n − x| = \(inverseError)")
            guard forwardError <= 1e-9, inverseError <= 1e-12 else {
                throw CheckFailed("FFTW disagrees with the naive 2-D DFT or the inverse")
            }
        }
    }

    /// The 2-D transform timed on unpadded size × size grids (fftw_plan_dft_2d) mapped with 2 MiB
    /// pages and with base pages.
    func time() throws {
        var times: [Double] = []
        for (name, allocator) in [
            ("huge", MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller, populate: .kernel)),
            ("base", MmapAllocator(pageSize: .base, populate: .kernel)),
        ] {
            // Mappings are page-aligned, which meets every FFTW SIMD alignment.
            var x = try complexGrid([size, size], padding: .none, allocator: allocator)
            var y = try complexGrid([size, size], padding: .none, allocator: allocator)
            fillSignal(&x)
            let best = transform(&x, into: &y, sign: FFTW_FORWARD, repeats: repeats)
            var z = try complexGrid([size, size], padding: .none, allocator: allocator)
            transform(&y, into: &z, sign: FFTW_BACKWARD)
            let error = largestDifference(z, scaledBy: Double(size * size), x)
            times.append(best)
            let (mx, my) = (x.buffer.backing.mapping, y.buffer.backing.mapping)
            print(
                "\(name): x \(mx?.obtainedPageSize ?? .base), y \(my?.obtainedPageSize ?? .base)"
                    + (mx?.fallbackReason.map { " (fell back: \($0))" } ?? "")
                    + ", fftw_alignment_of = \(fftwAlignment(x.buffer)), \(x.buffer.pageSizeReport())")
            print(
                String(
                    format: "%@: %d × %d forward plan execution best of %d: %.3f ms; inverse recovers x within %.1e",
                    name, size, size, repeats, best * 1e3, error))
            guard error <= 1e-9 else { throw CheckFailed("the inverse transform did not recover the input") }
        }
        print(String(format: "ratio: base / huge pages execution time = %.2f×", times[1] / times[0]))
    }
}

struct CheckFailed: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func scaled(_ z: Complex<Double>, _ factor: Double) -> Complex<Double> { Complex(z.real * factor, z.imaginary * factor) }
