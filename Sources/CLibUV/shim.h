#ifndef COURIER_CLIBUV_SHIM_H
#define COURIER_CLIBUV_SHIM_H
#include <uv.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <errno.h>
#include <time.h>
#include <signal.h>
#include <malloc.h>

// glibc keeps freed heap pages unless asked; elsewhere there is nothing to give back.
static inline void courier_return_free_memory(void) {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}
#endif
