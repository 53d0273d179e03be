import ZiggyMmap

// The element types the fuzzer allocates (strides 1, 3, 8, 24, 64, a non-trivial type and an
// empty struct), and an independent model of what AllocationRequest must decide for them.

struct One: TrivialElement { var value: UInt8 }
struct Three: TrivialElement { var a, b, c: UInt8 }
struct Eight: TrivialElement { var value: UInt64 }
struct TwentyFour: TrivialElement { var a, b, c: UInt64 }
struct SixtyFour: TrivialElement { var value: SIMD16<Float> }
/// Holds a reference: must be refused with `nonTrivialElement`, never stored.
struct Boxed: TrivialElement { var object: AnyObject? }
/// Size 0, stride 1.
struct Nothing: TrivialElement {}

/// Calls `body` with the element type a `type` byte selects.
func withElementType<R>(_ selector: UInt8, _ body: (any TrivialElement.Type) -> R) -> R {
    switch selector % 7 {
    case 0: return body(One.self)
    case 1: return body(Three.self)
    case 2: return body(Eight.self)
    case 3: return body(TwentyFour.self)
    case 4: return body(SixtyFour.self)
    case 5: return body(Boxed.self)
    default: return body(Nothing.self)
    }
}

/// What a valid request amounts to.
struct ValidRequest: Equatable {
    var byteCount: Int
    var alignment: Int
}

/// The model: the process's address space on this architecture, the largest alignment, and the
/// order of the checks (count sign, overflow, address space, element type, alignment) — written
/// from the documentation, not from the implementation.
enum RequestModel {
    #if arch(x86_64)
    static let addressSpace = 1 << 47
    #else
    static let addressSpace = 1 << 48
    #endif
    static let maximumAlignment = 1 << 30

    static func expect<T>(_ type: T.Type, count: Int, alignment: Int?) -> Result<ValidRequest, AllocationError> {
        let name = String(describing: T.self)
        let stride = MemoryLayout<T>.stride
        let natural = MemoryLayout<T>.alignment
        if count < 0 { return .failure(.negativeCount(count, element: name)) }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: stride)
        if overflow { return .failure(.sizeOverflow(count: count, stride: stride, element: name)) }
        if bytes > addressSpace { return .failure(.exceedsAddressSpace(byteCount: bytes, limit: addressSpace)) }
        if !_isPOD(T.self) { return .failure(.nonTrivialElement(name)) }
        let align = alignment ?? natural
        let isPowerOfTwo = align > 0 && align.nonzeroBitCount == 1
        if !isPowerOfTwo || align < natural || align > maximumAlignment {
            return .failure(.invalidAlignment(align, minimum: natural, maximum: maximumAlignment, element: name))
        }
        return .success(ValidRequest(byteCount: bytes, alignment: align))
    }
}

/// Reduces a valid request above `cap` bytes modulo the cap (keeping what makes it valid), so
/// one execution stays cheap; invalid requests, and valid ones of `passAbove` bytes or more
/// (which must fail fast for lack of memory), are left alone.
func capped<T>(_ type: T.Type, count: Int, alignment: Int?, cap: Int, passAbove: Int = 1 << 41) -> Int {
    guard case .success(let valid) = RequestModel.expect(T.self, count: count, alignment: alignment),
        valid.byteCount > cap, valid.byteCount < passAbove
    else { return count }
    return count % (cap / MemoryLayout<T>.stride + 1)
}

/// Reduces a valid alignment above `cap` to `cap` (invalid ones stay, to be refused).
func cappedAlignment(_ alignment: Int?, cap: Int) -> Int? {
    guard let alignment, alignment > cap, alignment <= RequestModel.maximumAlignment,
        alignment.nonzeroBitCount == 1
    else { return alignment }
    return cap
}

/// The request error inside any backend's error.
func requestError(_ error: any Error) -> AllocationError? {
    if let error = error as? AllocationError {
        switch error {
        case .negativeCount, .sizeOverflow, .exceedsAddressSpace, .invalidAlignment, .nonTrivialElement: return error
        default: return nil
        }
    }
    if case .request(let inner)? = error as? MmapError { return inner }
    return nil
}
