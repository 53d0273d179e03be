// libnuma and the NUMA syscalls (mbind, get_mempolicy, set_mempolicy, move_pages), as Swift's
// CNuma module. Installed by `apt-get install libnuma-dev`.
#ifndef CNUMA_SHIM_H
#define CNUMA_SHIM_H
#include <numa.h>
#include <numaif.h>
#endif
