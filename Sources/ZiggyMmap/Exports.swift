// One import serves mmap and NUMA users: the core types (UnmanagedBuffer, the allocator protocol,
// errors, backing reports) come with ZiggyMmap.
@_exported import ZiggyAlloc
