#if !Numerics
import ComplexModule
import ZiggyAlloc

// The suites build without the Numerics trait, as a client gets the package by default; they
// conform Complex the way the TrivialElement documentation tells such a client to. With the trait
// the library's own conformance serves (Examples/ComplexFFT builds that way).
extension Complex: TrivialElement {}
#endif
