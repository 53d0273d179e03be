// The legitimate uses after the element rule (issue 20, item 3) compile without a warning:
// BitwiseCopyable elements as before (nothing to handle), and TrivialElement types — Complex<Double>,
// a type the user conformed — whose layout is checked at run time, with `try` (the typed
// WrappingError: .layout(.nonTrivialElement) for a wrong conformance, .body for the body's error).
//
// EXPECT-COMPILES
import ComplexModule
import ZiggyMmap

public struct UserPair: TrivialElement {
    public var a = 0.0
    public var b = 0.0
}

func legitimate() throws {
    var doubles = [Double](repeating: 0, count: 8)
    UnmanagedBuffer.withWrapping(&doubles) { $0.fill(with: 1) }
    var complex = [Complex<Double>](repeating: .zero, count: 4)
    try UnmanagedBuffer.withWrapping(&complex) { (view) throws(Never) in view[0] = Complex(1, 2) }
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
    let complexMapped = try FileMapping.mapReadOnly("/etc/hostname", as: Complex<Double>.self, count: 0)
    _ = complexMapped.count
    let bytes = try SystemMemoryAllocator().allocate(UInt8.self, count: 64)
    let words = try bytes.rebound(to: UInt64.self)
    _ = words.count
}
