// Apps import Courier alone: the HTTP vocabulary, the server's settings and WebSocket come with it.
@_exported import CourierHTTP
@_exported import CourierLoop
@_exported import CourierServer
