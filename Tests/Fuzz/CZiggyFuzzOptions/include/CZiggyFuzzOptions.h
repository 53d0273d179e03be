#pragma once
// Defines __asan_default_options for ziggy-fuzz (see asan_options.c).
const char *__asan_default_options(void);
/// Referenced from Swift so the object is linked.
int ziggy_fuzz_options_linked(void);
