#ifndef COURIER_CZLIB_SHIM_H
#define COURIER_CZLIB_SHIM_H
#include <zlib.h>

// zlib's init functions are macros, which Swift cannot call.
static inline int courier_deflate_init(z_streamp stream, int level, int window_bits, int mem_level) {
    return deflateInit2(stream, level, Z_DEFLATED, window_bits, mem_level, Z_DEFAULT_STRATEGY);
}

static inline int courier_inflate_init(z_streamp stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}
#endif
