// AddressSanitizer's options for ziggy-fuzz, read by the ASan runtime before anything else runs
// (which is why this is C: an instrumented Swift function cannot run that early). ASAN_OPTIONS
// still overrides them. Harmless in builds without ASan.
//
// - allocator_may_return_null=1: the impossible requests (2 TiB, chunks of Int.max - 32) must come
//   back as typed errors, not ASan aborts.
// - quarantine_size_mb=0: freed malloc blocks are unmapped at once instead of staying mapped in the
//   quarantine, so "nothing new is left mapped" can be checked around every mapping operation (the
//   library's own heap use is small; its buffers are not malloc memory).
// - malloc_fill_byte=190, max_malloc_fill_size=65536: fresh malloc memory is not zero, so a
//   `zeroed: true` that is not honoured shows.
#include "CZiggyFuzzOptions.h"

__attribute__((used, visibility("default"), no_sanitize("address")))
const char *__asan_default_options(void) {
    return "allocator_may_return_null=1:quarantine_size_mb=0:malloc_fill_byte=190:max_malloc_fill_size=65536";
}

int ziggy_fuzz_options_linked(void) { return 1; }
