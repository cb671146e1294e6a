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
#include <sys/ioctl.h>
#ifdef __linux__
#include <linux/sockios.h>
#endif

// glibc keeps freed heap pages unless asked; elsewhere there is nothing to give back.
static inline void courier_return_free_memory(void) {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

// accept4 takes a connection non-blocking and close-on-exec in one call; glibc declares it only
// under _GNU_SOURCE, which this module is not compiled with.
#if defined(__linux__) && !defined(__USE_GNU)
int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
#endif

// Bytes in a socket's send queue the peer has not acknowledged yet (SIOCOUTQ): what the kernel
// still holds for a peer that may have stopped reading. 0 where it cannot be asked.
static inline int courier_unacknowledged_bytes(int fd) {
#ifdef SIOCOUTQ
    int count = 0;
    return ioctl(fd, SIOCOUTQ, &count) == 0 ? count : 0;
#else
    (void)fd;
    return 0;
#endif
}
#endif
