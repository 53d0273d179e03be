// FFTW 3, double precision (apt-get install libfftw3-dev).
#ifndef CFFTW_SHIM_H
#define CFFTW_SHIM_H
#include <fftw3.h>
#endif
