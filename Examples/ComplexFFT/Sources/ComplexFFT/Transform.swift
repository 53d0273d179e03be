import CFFTW
import ComplexModule
import Foundation
import ZiggyMmap

/// `Complex<Double>` is two Doubles, real first: FFTW's `fftw_complex` (`double[2]`), so a buffer's
/// pointer is rebound, not copied. The plan holds the pointers, so it is made, executed and
/// destroyed inside the closures that lend them — it never outlives the borrow.
///
/// Returns the best execution time of `repeats` runs (FFTW_ESTIMATE: planning does not touch the
/// data, so the input survives planning).
@discardableResult
func transform(
    _ input: inout UnmanagedBuffer<Complex<Double>>, into output: inout UnmanagedBuffer<Complex<Double>>,
    sign: Int32, repeats: Int = 1
) -> Double {
    let n = input.count
    precondition(output.count == n, "input and output must have the same count")
    return input.withUnsafeMutableBufferPointer { input in
        output.withUnsafeMutableBufferPointer { output in
            input.baseAddress!.withMemoryRebound(to: fftw_complex.self, capacity: n) { i in
                output.baseAddress!.withMemoryRebound(to: fftw_complex.self, capacity: n) { o in
                    let plan = fftw_plan_dft_1d(Int32(n), i, o, sign, UInt32(FFTW_ESTIMATE))
                    defer { fftw_destroy_plan(plan) }
                    var best = Double.infinity
                    for _ in 0..<repeats {
                        let start = ContinuousClock.now
                        fftw_execute(plan)
                        best = min(best, seconds(ContinuousClock.now - start))
                    }
                    return best
                }
            }
        }
    }
}

/// FFTW's alignment class of a buffer's start (0 mod 16 for SIMD plans; see fftw_alignment_of).
func fftwAlignment(_ buffer: borrowing UnmanagedBuffer<Complex<Double>>) -> Int32 {
    buffer.withUnsafeBufferPointer { p in
        p.baseAddress!.withMemoryRebound(to: Double.self, capacity: 2 * p.count) {
            fftw_alignment_of(UnsafeMutablePointer(mutating: $0))
        }
    }
}

/// The textbook DFT, X[k] = Σ x[j] e^(−2πi jk/n), in O(n²).
func naiveDFT(_ x: borrowing UnmanagedBuffer<Complex<Double>>) -> [Complex<Double>] {
    let n = x.count
    return (0..<n).map { k in
        var sum = Complex<Double>.zero
        for j in 0..<n {
            let angle = -2 * Double.pi * Double((j * k) % n) / Double(n)
            sum += x[j] * Complex(cos(angle), sin(angle))
        }
        return sum
    }
}

/// Deterministic test signal: two tones and a ramp.
func fillSignal(_ x: inout UnmanagedBuffer<Complex<Double>>) {
    let n = Double(x.count)
    for j in x.indices {
        let t = Double(j) / n
        x[j] = Complex(cos(2 * .pi * 3 * t) + 0.25 * t, 0.5 * sin(2 * .pi * 7 * t))
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}
