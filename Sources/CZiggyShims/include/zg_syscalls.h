// Raw system calls and GNU extensions that Swift's Glibc module does not import. Only ZiggyKernel's
// seam (Sources/ZiggyKernel/Kernel+*.swift) calls these, so tests can fail any of them.
//
// The NUMA calls are the kernel's own system calls rather than libnuma's wrappers of the same
// name: the seam serves the core target too, which must build without libnuma headers.
#ifndef ZG_SYSCALLS_H
#define ZG_SYSCALLS_H

#include <stdint.h>
#include <stddef.h>

/// sched_setaffinity / sched_getaffinity for the calling thread with a mask of `words` 64-bit
/// words (any CPU count: the cpu_set_t is allocated to size). Return 0, or -1 with errno set;
/// getaffinity fails with EINVAL when the kernel's mask needs more words than given.
/// sched_setaffinity for thread `tid` (a kernel thread id, see zg_gettid).
int zg_set_thread_affinity(int tid, const uint64_t *mask, size_t words);
/// The calling thread's kernel thread id.
int zg_gettid(void);
int zg_get_affinity(uint64_t *mask, size_t words);
/// sched_getcpu.
int zg_current_cpu(void);

/// mlock/munlock as raw system calls: sanitizer runtimes intercept the libc wrappers and turn
/// them into no-ops, and the library reports "locked" only when the kernel really locked.
int zg_mlock(const void *address, size_t length);
int zg_munlock(const void *address, size_t length);
/// RLIMIT_MEMLOCK soft limit in bytes, INT64_MAX when unlimited, -1 on error.
int64_t zg_memlock_limit(void);
/// Drops CAP_IPC_LOCK from the calling thread's effective and permitted sets (tests use it to
/// make mlock obey RLIMIT_MEMLOCK even as root). 0 on success.
int zg_drop_ipc_lock_capability(void);
/// Sets the RLIMIT_MEMLOCK soft and hard limits (bytes). 0 on success.
int zg_set_memlock_limit(uint64_t bytes);

/// mremap (GNU); MAP_FAILED and errno on failure.
void *zg_mremap(void *old_address, size_t old_size, size_t new_size, int flags);
/// mremap with MREMAP_MAYMOVE | MREMAP_FIXED to `target` (the variadic fifth argument Swift
/// cannot pass); MAP_FAILED and errno on failure.
void *zg_mremap_fixed(void *old_address, size_t old_size, size_t new_size, void *target);

/// The NUMA system calls (see mbind(2), get_mempolicy(2), set_mempolicy(2), move_pages(2)).
long zg_mbind(void *address, unsigned long length, int mode, const unsigned long *nodemask,
              unsigned long maxnode, unsigned int flags);
long zg_get_mempolicy(int *mode, unsigned long *nodemask, unsigned long maxnode, void *address,
                      unsigned long flags);
long zg_move_pages(unsigned long count, void **pages, const int *nodes, int *status, int flags);

/// The file system magic number of an open file (statfs f_type), or -1 with errno set.
int64_t zg_fs_magic(int fd);
/// File type bits of an open file (st_mode & S_IFMT) and its size; 0, or -1 with errno set.
int zg_file_type_and_size(int fd, uint32_t *type, int64_t *size);
/// flock(2) (Swift sees `flock` as the struct of the same name).
int zg_flock(int fd, int operation);
/// The same for a path (`stat`, following symbolic links).
int zg_path_type_and_size(const char *path, uint32_t *type, int64_t *size);
/// Clears O_NONBLOCK on an open descriptor; 0, or -1 with errno set.
int zg_clear_nonblocking(int fd);

#endif
