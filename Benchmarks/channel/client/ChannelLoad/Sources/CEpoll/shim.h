#ifndef CHANNELLOAD_CEPOLL_SHIM_H
#define CHANNELLOAD_CEPOLL_SHIM_H
// Swift's Glibc module leaves out <sys/epoll.h>.
#include <sys/epoll.h>
#endif
