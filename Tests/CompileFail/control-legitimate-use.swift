// Control for run-compile-fail-checks: the legitimate uses of the closure-scoped APIs compile with
// the same flags, so a rejected snippet is rejected for its misuse, not for the setup.
//
// EXPECT-COMPILES
import ZiggyMmap

func legitimate() throws {
    var storage = [Double](repeating: 0, count: 8)
    var span = storage.mutableSpan
    let sum = UnmanagedBuffer.withWrapping(&span) { wrapped in
        wrapped.fill(with: 1)
        return wrapped[0] + wrapped[7]
    }
    precondition(sum == 2)
    DeferScope.run { scope in
        scope.defer { print("cleanup") }
    }
    let buffer = try MmapAllocator(pageSize: .base).allocate(UInt8.self, count: 4096)
    _ = buffer.backing
}
