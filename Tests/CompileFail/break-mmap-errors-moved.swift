// Intended break (CHANGELOG 0.2.0): the mapping, NUMA and file cases left AllocationError for
// ZiggyMmap's MmapError. The old spelling no longer compiles (replacement: replacement-mmap-errors.swift).
//
// EXPECT-ERROR: error: .*has no member 'hugePagesUnavailable'
import ZiggyMmap

func old(_ error: AllocationError) -> Bool {
    if case .hugePagesUnavailable = error { return true }
    return false
}
