// Apps import Courier alone: the HTTP vocabulary, the server's settings and WebSocket come with
// it. From CourierLoop only what an app uses: the loop a request runs on, the pool for blocking
// work, libuv's errors. Its Timer, TCPStream and the like stay out of an app's namespace (a
// `Timer` there clashed with Foundation's in every app that imports both); code that needs
// them imports CourierLoop.
@_exported import CourierHTTP
@_exported import CourierServer
public import CourierLoop

/// The libuv loop a request runs on (`request.loop`).
public typealias EventLoop = CourierLoop.EventLoop
/// Threads for blocking work (a database call) that a handler awaits without stalling its loop.
public typealias BlockingPool = CourierLoop.BlockingPool
/// Why blocking work did not run.
public typealias BlockingPoolError = CourierLoop.BlockingPoolError
/// An error from libuv (a port in use, a refused connection), with its name and message.
public typealias UVError = CourierLoop.UVError
