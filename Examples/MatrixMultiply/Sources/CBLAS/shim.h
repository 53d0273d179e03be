// OpenBLAS's CBLAS interface (apt-get install libopenblas-dev).
#ifndef CBLAS_SHIM_H
#define CBLAS_SHIM_H
#include <cblas.h>
#endif
