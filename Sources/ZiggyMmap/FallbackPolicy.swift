/// What an allocator does when the page size asked for cannot be had.
public enum FallbackPolicy: Sendable, Hashable, CustomStringConvertible {
    /// Throw: no other page size is acceptable.
    case strict
    /// Try these page sizes, in order, after the requested one.
    case fallback(to: [PageSize])
    /// Try each smaller kind in turn: 1 GiB → 2 MiB → THP → base.
    case anySmaller

    /// The page sizes to try for `requested`, requested first.
    public func chain(for requested: PageSize) -> [PageSize] {
        switch self {
        case .strict:
            return [requested]
        case .fallback(let sizes):
            var chain = [requested]
            for size in sizes where !chain.contains(size) { chain.append(size) }
            return chain
        case .anySmaller:
            let order: [PageSize] = [.huge1GiB, .huge2MiB, .transparentHuge, .base]
            return Array(order.drop(while: { $0 != requested }))
        }
    }

    public var description: String {
        switch self {
        case .strict: return "strict"
        case .fallback(let sizes): return "fallback to " + sizes.map(\.description).joined(separator: " → ")
        case .anySmaller: return "any smaller page size"
        }
    }
}

/// A request served with another page size than asked for, as reported to
/// `MmapAllocator.Options.onFallback`.
public struct FallbackEvent: Sendable, Hashable, CustomStringConvertible {
    public let requested: PageSize
    public let obtained: PageSize
    public let byteCount: Int
    /// Why each page size tried before `obtained` failed, in order.
    public let reasons: [String]

    public var description: String {
        "\(byteCount) B: asked \(requested), got \(obtained) — " + reasons.joined(separator: "; ")
    }
}
