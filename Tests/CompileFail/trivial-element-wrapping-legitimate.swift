// The legitimate uses after the element rule (issue 20, item 3) compile without a warning:
// BitwiseCopyable elements as before (nothing to handle), and TrivialElement types — a generic
// complex-like pair and a plain struct the user conformed — whose layout is checked at run time,
// with `try` (the typed WrappingError: .layout(.nonTrivialElement) for a wrong conformance, .body
// for the body's error). The snippet declares its own generic type instead of swift-numerics'
// Complex: a client builds without the Numerics trait by default, so Complex is not conformed.
//
// EXPECT-COMPILES
import ZiggyMmap

public struct UserPair: TrivialElement {
    public var a = 0.0
    public var b = 0.0
}

/// Generic, so it is not inferred BitwiseCopyable for clients, as Complex<Double> is not.
public struct UserComplex<Real: BinaryFloatingPoint & Sendable>: TrivialElement {
    public var real: Real
    public var imaginary: Real
    public init(_ real: Real, _ imaginary: Real) {
        self.real = real
        self.imaginary = imaginary
    }
}

func legitimate() throws {
    var doubles = [Double](repeating: 0, count: 8)
    UnmanagedBuffer.withWrapping(&doubles) { $0.fill(with: 1) }
    var complex = [UserComplex<Double>](repeating: UserComplex(0, 0), count: 4)
    try UnmanagedBuffer.withWrapping(&complex) { (view) throws(Never) in view[0] = UserComplex(1, 2) }
    var complexSpan = complex.mutableSpan
    let real = try UnmanagedBuffer.withWrapping(&complexSpan) { (view) throws(Never) in view[0].real }
    precondition(real == 1)
    var pairs = [UserPair](repeating: UserPair(), count: 4)
    try UnmanagedBuffer.withWrapping(&pairs) { (view) throws(Never) in view[1].a = 2 }
    do {
        var span = pairs.mutableSpan
        try UnmanagedBuffer.withWrapping(&span) { (view) throws(Never) in view[0].b = 3 }
    } catch {
        // (Swift 6.3.1's SILGen crashes on `catch .layout(let error)` in this function.)
        if case .layout(let reason) = error { print(reason) }
    }
    let mapped = try FileMapping.mapReadOnly("/etc/hostname", as: UInt8.self)
    _ = mapped.count
    let complexMapped = try FileMapping.mapReadOnly("/etc/hostname", as: UserComplex<Double>.self, count: 0)
    _ = complexMapped.count
    let bytes = try SystemMemoryAllocator().allocate(UInt8.self, count: 64)
    let words = try bytes.rebound(to: UInt64.self)
    _ = words.count
}
