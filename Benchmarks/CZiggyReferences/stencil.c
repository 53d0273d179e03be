/* Jacobi sweeps over row-major grids with padded rows, written as a C user writes them: restrict
 * pointers, plain nested loops, the compiler's -O3 -march=native (no pragmas, no intrinsics, no
 * -ffast-math). `ld` is the leading dimension (elements between rows, padding included), `plane`
 * the elements between planes of a 3-D grid. A call sweeps the interior points of the rows or
 * planes [first, last): what one member of a team computes for its block, so that the same kernel
 * serves the 1-thread reference and the per-block one. The sums are in the order the Swift rows
 * write them, so both produce the same bits. */
#include "CZiggyReferences.h"

static size_t zr_max(size_t a, size_t b) { return a > b ? a : b; }
static size_t zr_min(size_t a, size_t b) { return a < b ? a : b; }

void zr_jacobi2d_rows(double *restrict out, const double *restrict in, size_t ld, size_t rows, size_t cols,
                      size_t first, size_t last) {
    if (rows < 3 || cols < 3) return;
    size_t begin = zr_max(first, 1), end = zr_min(last, rows - 1);
    for (size_t i = begin; i < end; i++) {
        for (size_t j = 1; j < cols - 1; j++) {
            out[i * ld + j] = 0.25 * (in[(i - 1) * ld + j] + in[(i + 1) * ld + j] + in[i * ld + j - 1] + in[i * ld + j + 1]);
        }
    }
}

void zr_jacobi3d_planes(double *restrict out, const double *restrict in, size_t plane, size_t ld, size_t n0, size_t n1,
                        size_t n2, size_t first, size_t last) {
    if (n0 < 3 || n1 < 3 || n2 < 3) return;
    const double sixth = 1.0 / 6.0;
    size_t begin = zr_max(first, 1), end = zr_min(last, n0 - 1);
    for (size_t i = begin; i < end; i++) {
        for (size_t j = 1; j < n1 - 1; j++) {
            for (size_t k = 1; k < n2 - 1; k++) {
                size_t c = i * plane + j * ld + k;
                out[c] = sixth * (in[c - plane] + in[c + plane] + in[c - ld] + in[c + ld] + in[c - 1] + in[c + 1]);
            }
        }
    }
}
