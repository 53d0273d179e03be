import Glibc

/// Kernel constants the library passes to system calls, in one place. Several are missing from
/// Swift's Glibc module (`MAP_HUGE_2MB` is a macro over a shift; the `MADV_POPULATE_*` and newer
/// `MPOL_*` values postdate the headers some distributions ship).
package enum KernelConstants {
    /// The base page size in bytes.
    package static let basePageByteCount: Int = Int(sysconf(Int32(_SC_PAGESIZE)))

    // mmap
    /// `MAP_HUGE_SHIFT`: `MAP_HUGETLB | (log2(page size) << MAP_HUGE_SHIFT)` selects the hugetlb size.
    package static let MAP_HUGE_SHIFT: Int32 = 26
    /// `MAP_FIXED_NOREPLACE` (Linux 4.17): map exactly there, fail rather than replace.
    package static let MAP_FIXED_NOREPLACE: Int32 = 0x100000
    @usableFromInline package static let MREMAP_MAYMOVE: Int32 = 1

    // madvise
    package static let MADV_NORMAL: Int32 = 0
    package static let MADV_RANDOM: Int32 = 1
    package static let MADV_SEQUENTIAL: Int32 = 2
    package static let MADV_WILLNEED: Int32 = 3
    package static let MADV_DONTNEED: Int32 = 4
    package static let MADV_FREE: Int32 = 8
    package static let MADV_HUGEPAGE: Int32 = 14
    package static let MADV_NOHUGEPAGE: Int32 = 15
    /// Linux 5.14: fault the range in (readable / writable) and report failure instead of SIGBUS.
    package static let MADV_POPULATE_READ: Int32 = 22
    package static let MADV_POPULATE_WRITE: Int32 = 23

    // NUMA memory policies (mbind, get_mempolicy, set_mempolicy)
    package static let MPOL_DEFAULT: Int32 = 0
    package static let MPOL_PREFERRED: Int32 = 1
    package static let MPOL_BIND: Int32 = 2
    package static let MPOL_INTERLEAVE: Int32 = 3
    package static let MPOL_LOCAL: Int32 = 4
    package static let MPOL_PREFERRED_MANY: Int32 = 5
    package static let MPOL_WEIGHTED_INTERLEAVE: Int32 = 6
    /// Mode flags get_mempolicy may OR into the mode.
    package static let MPOL_MODE_FLAGS: Int32 = ~0xFF
    package static let MPOL_F_ADDR: Int32 = 1 << 1
    /// mbind: move pages already faulted in that violate the policy.
    package static let MPOL_MF_MOVE: UInt32 = 1 << 1

    // file systems (statfs f_type)
    package static let PROC_SUPER_MAGIC: Int64 = 0x9fa0
    package static let SYSFS_MAGIC: Int64 = 0x6265_6572
    package static let DEBUGFS_MAGIC: Int64 = 0x6462_6720
    package static let TRACEFS_MAGIC: Int64 = 0x7472_6163
    package static let CGROUP_SUPER_MAGIC: Int64 = 0x27e0eb
    package static let CGROUP2_SUPER_MAGIC: Int64 = 0x6367_7270
    package static let SECURITYFS_MAGIC: Int64 = 0x7363_6673
    package static let CONFIGFS_MAGIC: Int64 = 0x6265_6570
    package static let BPF_FS_MAGIC: Int64 = 0xcafe_4a11
    /// Pseudo file systems whose files report a size (often 0) that says nothing about their
    /// contents: they are read, never mapped.
    package static let pseudoFileSystems: Set<Int64> = [
        PROC_SUPER_MAGIC, SYSFS_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC, CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC,
        SECURITYFS_MAGIC, CONFIGFS_MAGIC, BPF_FS_MAGIC,
    ]

    // file types (st_mode & S_IFMT)
    package static let S_IFREG: UInt32 = 0o100000
    package static let S_IFDIR: UInt32 = 0o040000
    package static let S_IFCHR: UInt32 = 0o020000
    package static let S_IFBLK: UInt32 = 0o060000
    package static let S_IFIFO: UInt32 = 0o010000
    package static let S_IFSOCK: UInt32 = 0o140000
    package static let S_IFLNK: UInt32 = 0o120000
}
