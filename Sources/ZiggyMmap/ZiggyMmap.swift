// One import serves mmap and NUMA users: the core types (UnmanagedBuffer, the allocator protocol,
// its errors, backing reports, and swift-system's Errno) come with ZiggyMmap.
@_exported import ZiggyAlloc
