import ArgumentParser
import CFFTW
import ComplexModule
import Foundation
import ZiggyMmap

@main
struct ComplexFFT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "complex-fft",
        abstract: "FFTW on UnmanagedBuffer<Complex<Double>>, on 2 MiB and base pages.")

    @Option(help: "Transform length for the timing (Complex<Double> elements).")
    var size = 1 << 16

    @Option(help: "Executions timed per page size (the best is reported).")
    var repeats = 5

    func validate() throws {
        guard (1...(1 << 40)).contains(size) else { throw ValidationError("--size must be in 1...\(1 << 40)") }
        guard size <= Int(Int32.max) else { throw ValidationError("--size must fit FFTW's int (\(Int32.max))") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        do {
            try check()
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

    func time() throws {
        var times: [Double] = []
        for (name, allocator) in [
            ("huge", MmapAllocator(pageSize: .huge2MiB, fallback: .anySmaller, populate: .kernel)),
            ("base", MmapAllocator(pageSize: .base, populate: .kernel)),
        ] {
            // Mappings are page-aligned, which meets every FFTW SIMD alignment.
            var x = try allocator.allocate(Complex<Double>.self, count: size)
            var y = try allocator.allocate(Complex<Double>.self, count: size)
            fillSignal(&x)
            let best = transform(&x, into: &y, sign: FFTW_FORWARD, repeats: repeats)
            var z = try allocator.allocate(Complex<Double>.self, count: size)
            transform(&y, into: &z, sign: FFTW_BACKWARD)
            var error = 0.0
            for j in 0..<size { error = max(error, (scaled(z[j], 1 / Double(size)) - x[j]).length) }
            times.append(best)
            print(
                "\(name): x \(x.backing.mapping?.obtainedPageSize ?? .base), y \(y.backing.mapping?.obtainedPageSize ?? .base)"
                    + (x.backing.mapping?.fallbackReason.map { " (fell back: \($0))" } ?? "")
                    + ", fftw_alignment_of = \(fftwAlignment(x)), \(x.pageSizeReport())")
            print(
                String(
                    format: "%@: n = %d forward plan execution best of %d: %.3f ms; inverse recovers x within %.1e",
                    name, size, repeats, best * 1e3, error))
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
