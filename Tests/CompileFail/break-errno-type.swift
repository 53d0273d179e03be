// Intended break (CHANGELOG 0.2.0): errno values are swift-system's typed Errno, not Int32.
//
// EXPECT-ERROR: error: .*(Errno|Int32)
import ZiggyAlloc
import Glibc

func code(_ error: AllocationError) -> Int32? {
    if case .outOfMemory(_, _, let errno) = error { return errno }
    return nil
}
