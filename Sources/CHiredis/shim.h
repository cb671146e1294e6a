#ifndef COURIER_CHIREDIS_SHIM_H
#define COURIER_CHIREDIS_SHIM_H
// Only the RESP reader and the command formatter are used: the sockets, timeouts and event loop
// are CourierLoop's, so none of hiredis' contexts or adapters appear above this module.
#include <hiredis/hiredis.h>
#endif
