/* Huge page reservations for the benchmark run, given back exactly once.
 *
 * The pool is adjusted by what this process added (read, add, write, read back what the kernel
 * granted), never written back to an old absolute value, so pages another process reserved in
 * the meantime stay. The caller holds the machine-wide hugetlb pool lock (HugePagePoolLock: an
 * flock on every size's nr_hugepages) from before the first reservation until the process exits,
 * so cooperating processes (other benchmark runs, the tests, MPI ranks) never interleave with
 * these read-modify-writes, and the restore path — a signal handler included — needs no lock of
 * its own. Each entry has an atomic "restored" flag: whoever sets it first (a signal handler or
 * the exit path) gives the pages back; the other does nothing. Only async-signal-safe calls on the
 * restore path. */
#define _GNU_SOURCE
#include "CZiggyReferences.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define ZR_ENTRIES 8
static struct {
    char path[256];
    long before;          /* the pool when this entry was made (valid while `pending`) */
    long added;           /* what this process added (valid once not `pending`) */
    atomic_int pending;   /* 1 while the reservation holds the lock, between write and read-back */
    atomic_int restored;
    char ledger[256];     /* the library's ledger entry for it (removed when restored), or "" */
} zr_entries[ZR_ENTRIES];
static atomic_int zr_entry_count;

static long zr_read_long(int fd) {
    char digits[32];
    ssize_t n = pread(fd, digits, sizeof digits - 1, 0);
    if (n <= 0) return -1;
    long value = 0;
    for (ssize_t k = 0; k < n && digits[k] >= '0' && digits[k] <= '9'; k++) value = value * 10 + (digits[k] - '0');
    return value;
}

static int zr_write_long(const char *path, long value) {
    char out[32];
    int len = 0;
    if (value < 0) value = 0;
    do { out[len++] = (char)('0' + value % 10); value /= 10; } while (value > 0);
    for (int a = 0, b = len - 1; a < b; a++, b--) { char t = out[a]; out[a] = out[b]; out[b] = t; }
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -errno;
    ssize_t written = write(fd, out, (size_t)len);
    int error = written == len ? 0 : (written < 0 ? -errno : -EIO);
    close(fd);
    return error;
}

static int zr_open_read(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int zr_reserve_pages(const char *path, long count, long *granted) {
    *granted = 0;
    if (count < 0) return -EINVAL;
    if (strlen(path) >= sizeof zr_entries[0].path) return -ENAMETOOLONG;
    int index = atomic_load(&zr_entry_count);
    if (index >= ZR_ENTRIES) return -ENOSPC;
    int fd = zr_open_read(path);
    if (fd < 0) return fd;
    long before = zr_read_long(fd);
    if (before < 0) { close(fd); return -EIO; }
    if (count == 0) { close(fd); return 0; }
    /* Record before writing: a signal arriving between the write and the read-back finds the entry
     * pending. The pool lock is held, so nobody else changed the pool, and `before` is exact. */
    memcpy(zr_entries[index].path, path, strlen(path) + 1);
    zr_entries[index].ledger[0] = 0;
    zr_entries[index].before = before;
    zr_entries[index].added = 0;
    atomic_store(&zr_entries[index].restored, 0);
    atomic_store(&zr_entries[index].pending, 1);
    atomic_store(&zr_entry_count, index + 1);
    int error = zr_write_long(path, before + count);
    long after = zr_read_long(fd);
    long added = after > before ? after - before : 0;
    zr_entries[index].added = added;
    atomic_store(&zr_entries[index].pending, 0);
    close(fd);
    *granted = added;
    return error;
}

int zr_attach_ledger(const char *ledger_path) {
    int index = atomic_load(&zr_entry_count) - 1;
    if (index < 0 || strlen(ledger_path) >= sizeof zr_entries[0].ledger) return -EINVAL;
    memcpy(zr_entries[index].ledger, ledger_path, strlen(ledger_path) + 1);
    return 0;
}

void zr_restore_pages(void) {
    for (int i = atomic_load(&zr_entry_count) - 1; i >= 0; i--) {
        if (atomic_exchange(&zr_entries[i].restored, 1)) continue;  /* already given back */
        /* The ledger entry goes first: a later releaseStale must never give these pages back too. */
        if (zr_entries[i].ledger[0]) unlink(zr_entries[i].ledger);
        if (atomic_load(&zr_entries[i].pending)) {
            /* Interrupted inside zr_reserve_pages, under the pool lock: the pool has changed only by
             * our write, so its old size is exact. */
            zr_write_long(zr_entries[i].path, zr_entries[i].before);
            continue;
        }
        long added = zr_entries[i].added;
        if (added <= 0) continue;
        int fd = zr_open_read(zr_entries[i].path);
        if (fd < 0) continue;
        long now = zr_read_long(fd);
        if (now >= 0) zr_write_long(zr_entries[i].path, now - added);
        close(fd);
    }
}

long zr_reserved_outstanding(void) {
    long total = 0;
    for (int i = 0; i < atomic_load(&zr_entry_count); i++) {
        if (!atomic_load(&zr_entries[i].restored)) total += zr_entries[i].added;
    }
    return total;
}

static void zr_on_terminate(int signal_number) {
    zr_restore_pages();
    _exit(128 + signal_number);
}

static const int zr_crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE, SIGTRAP };
#define ZR_CRASH_SIGNALS (sizeof zr_crash_signals / sizeof zr_crash_signals[0])
static struct sigaction zr_previous[ZR_CRASH_SIGNALS];

/* Restore, let the previous handler (the Swift backtracer) report the crash, and die of the
 * signal even if that handler returns. */
static void zr_on_crash(int signal_number) {
    zr_restore_pages();
    for (size_t i = 0; i < ZR_CRASH_SIGNALS; i++) {
        if (zr_crash_signals[i] == signal_number) {
            sigaction(signal_number, &zr_previous[i], NULL);
            break;
        }
    }
    raise(signal_number);
    struct sigaction fallback;
    memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(signal_number, &fallback, NULL);
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, signal_number);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    raise(signal_number);
    _exit(128 + signal_number);
}

void zr_restore_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = zr_on_terminate;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    struct sigaction crash;
    memset(&crash, 0, sizeof crash);
    crash.sa_handler = zr_on_crash;
    sigemptyset(&crash.sa_mask);
    crash.sa_flags = SA_NODEFER;
    for (size_t i = 0; i < ZR_CRASH_SIGNALS; i++) sigaction(zr_crash_signals[i], &crash, &zr_previous[i]);
}
