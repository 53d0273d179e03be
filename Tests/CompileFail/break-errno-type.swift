// Intended break (CHANGELOG 0.2.0): errno values are swift-system's typed Errno, not Int32.
//
// EXPECT-ERROR: error: .*(Errno|Int32)
import ZiggyAlloc
import Glibc

let code: Int32? = AllocationError.outOfMemory(byteCount: 1, backend: "x", errno: nil).errno
