import CZiggyShims
import Glibc
import SystemPackage

// NUMA policy: mbind, get_mempolicy, move_pages (query).
extension Kernel {
    /// `mbind` with `mask` as the node mask (one bit per node).
    package static func mbind(
        _ address: UnsafeMutableRawPointer, _ length: Int, _ mode: Int32, _ mask: [UInt],
        _ flags: UInt32
    ) -> Result<Void, Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.mbind, "mode=\(mode) len=\(length)") { return .failure(e) }
        #endif
        let maxNode = UInt(mask.count * UInt.bitWidth + 1)
        let rc = mask.withUnsafeBufferPointer { words in
            zg_mbind(address, UInt(length), mode, words.isEmpty ? nil : words.baseAddress, words.isEmpty ? 0 : maxNode, flags)
        }
        return rc == 0 ? .success(()) : .failure(.current)
    }

    /// The policy of the mapping at `address` (`MPOL_F_ADDR`), or the calling thread's policy
    /// when `address` is nil: mode and node mask.
    package static func getMempolicy(
        address: UnsafeMutableRawPointer?, maskWords: Int
    ) -> Result<(mode: Int32, mask: [UInt]), Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.getMempolicy) { return .failure(e) }
        #endif
        var mode: Int32 = 0
        var mask = [UInt](repeating: 0, count: maskWords)
        let rc = mask.withUnsafeMutableBufferPointer { words in
            zg_get_mempolicy(
                &mode, words.baseAddress, UInt(maskWords * UInt.bitWidth), address,
                address == nil ? 0 : UInt(KernelConstants.MPOL_F_ADDR))
        }
        return rc == 0 ? .success((mode, mask)) : .failure(.current)
    }

    /// The node holding each page (`move_pages` in query mode); negative entries are `-errno`
    /// (for example `-ENOENT` for a page not yet faulted in).
    package static func queryPageNodes(_ pages: [UnsafeMutableRawPointer?]) -> Result<[Int32], Errno> {
        #if ENABLE_MOCKING
        if let e = injected(.movePages, "pages=\(pages.count)") { return .failure(e) }
        #endif
        var status = [Int32](repeating: 0, count: pages.count)
        var mutablePages = pages
        let rc = mutablePages.withUnsafeMutableBufferPointer { pagePointer in
            status.withUnsafeMutableBufferPointer { statusPointer in
                zg_move_pages(UInt(pages.count), pagePointer.baseAddress, nil, statusPointer.baseAddress, 0)
            }
        }
        return rc == 0 ? .success(status) : .failure(.current)
    }
}
