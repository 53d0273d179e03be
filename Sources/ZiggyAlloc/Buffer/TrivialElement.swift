#if Numerics
import ComplexModule
#endif

/// A type whose values may live in unmanaged memory although the compiler cannot prove it
/// `BitwiseCopyable`: the other half of the element rule.
///
/// **The rule.** A buffer holds any trivially copyable type — no references, no non-trivial copy
/// or destruction — since its memory is never initialized or deinitialized, only stored to.
/// `BitwiseCopyable` types are accepted at compile time. Types the compiler cannot infer it for
/// (a frozen generic struct of another module, such as swift-numerics' `Complex<Double>`, or a
/// public non-frozen struct) conform to `TrivialElement` instead; the library checks their layout
/// at run time (`_isPOD`) when a buffer is made and throws
/// ``AllocationError/nonTrivialElement(_:)`` for a type that is not trivial, so a mistaken
/// conformance (say, a class) is a typed error, never memory corruption.
///
/// The conformance is a promise about layout only; it adds no requirements. With the package's
/// `Numerics` trait (`.package(url: …, from: …, traits: ["Numerics"])`) ZiggyAlloc conforms
/// swift-numerics' `Complex` (any `Real` scalar), so `allocate(Complex<Double>.self, count:)`
/// works as is; without it, one line does the same:
/// `extension Complex: @retroactive TrivialElement {}`.
public protocol TrivialElement {}

#if Numerics
extension Complex: TrivialElement {}
#endif
