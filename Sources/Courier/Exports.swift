// Apps import Courier alone: the HTTP vocabulary, the server's settings and WebSocket come with
// it. From CourierLoop only what an app uses: the loop a request runs on, the pool for blocking
// work, libuv's errors. Its Timer, TCPStream and the like stay out of an app's namespace (a
// `Timer` there clashed with Foundation's in every app that imports both); code that needs
// them imports CourierLoop.
@_exported import CourierHTTP
@_exported import CourierServer
import CourierLoop

public typealias EventLoop = CourierLoop.EventLoop
public typealias BlockingPool = CourierLoop.BlockingPool
public typealias BlockingPoolError = CourierLoop.BlockingPoolError
public typealias UVError = CourierLoop.UVError
