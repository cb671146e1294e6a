import CourierHTTP
public import CourierLoop
import Dispatch
public import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a responder on `workers` event loops, each with its own listener on the same port.
public final class HTTPServer: Sendable {
    /// The settings the server was made with; a port of 0 stays 0 here (read `port`).
    public let configuration: ServerConfiguration
    private let responder: any HTTPResponder
    private let logger: Logger
    private let state = Locked<State>(State())
    private let connectionLimit: ConnectionLimit
    private let metrics: ServerMetrics?

    private struct State {
        var loops: [EventLoop] = []
        var serverLoops: [ServerLoop] = []
        var port = 0
        var running = 0
        var shutdownRequested = false
    }

    /// Prepares a server; nothing is bound or started until `start()`. A setting out of its
    /// range (`maxConnections` outside 1...`ServerConfiguration.maxConnectionsLimit`) is a
    /// programming error and stops the program here, before anything is served. With `metrics`,
    /// the open connections and WebSockets are counted in its gauges.
    public init(configuration: ServerConfiguration, responder: any HTTPResponder,
                logger: Logger = Logger(label: "courier.http"), metrics: ServerMetrics? = nil) {
        precondition((1...ServerConfiguration.maxConnectionsLimit).contains(configuration.maxConnections),
                     "maxConnections must be 1...\(ServerConfiguration.maxConnectionsLimit), not \(configuration.maxConnections)")
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.metrics = metrics
        connectionLimit = ConnectionLimit(maximum: configuration.maxConnections)
    }

    /// The bound port (the chosen one when configured with 0).
    public var port: Int { state.withLock { $0.port } }
    /// The worker loops, one per worker, once started; [] before. Safe from any thread.
    public var loops: [EventLoop] { state.withLock { $0.loops } }

    /// Starts the loops and listeners and returns once every listener is accepting.
    @discardableResult
    public func start() throws -> Int {
        signal(SIGPIPE, SIG_IGN)
        var port = configuration.port
        // The workers' listeners share the port with SO_REUSEPORT, which would let them join
        // another server already on it: unless sharing was asked for, that is refused first.
        if configuration.workers > 1, !configuration.reusePort, port != 0 {
            try TCPListener.checkAvailable(host: configuration.host, port: port)
        }
        for index in 0..<configuration.workers {
            let loop = EventLoop(name: "courier-\(index)", busyPollMicroseconds: configuration.busyPollMicroseconds)
            loop.startThread()
            let serverLoop = ServerLoop(loop: loop, configuration: configuration, responder: responder, logger: logger,
                                        connectionLimit: connectionLimit, metrics: metrics) { [self] in
                loopStopped(loop)
            }
            let bound = onLoop(loop) { () throws(UVError) -> Int in try serverLoop.listen(port: port) }
            switch bound {
            case .success(let actual):
                port = actual
                state.withLock {
                    $0.loops.append(loop)
                    $0.serverLoops.append(UncheckedBox(serverLoop).value)
                    $0.port = actual
                    $0.running += 1
                }
            case .failure(let error):
                loop.stop()
                loop.waitUntilStopped()
                shutdown()
                waitUntilStopped()
                throw error
            }
        }
        if configuration.handlesSignals { installSignalHandlers() }
        logger.info("listening", metadata: ["address": "\(configuration.host):\(port)", "workers": "\(configuration.workers)"])
        return port
    }

    /// Starts, then blocks until the server has shut down (after SIGINT/SIGTERM or `shutdown()`).
    public func run() throws {
        try start()
        waitUntilStopped()
    }

    /// Stops accepting, lets requests in flight finish (up to the deadline), then stops the loops.
    public func shutdown() {
        let serverLoops = state.withLock { state -> [ServerLoop] in
            guard !state.shutdownRequested else { return [] }
            state.shutdownRequested = true
            return state.serverLoops
        }
        for serverLoop in serverLoops {
            let box = UncheckedBox(serverLoop)
            serverLoop.loop.execute { box.value.beginShutdown() }
        }
    }

    /// The connections the loops hold now (HTTP, and WebSockets upgraded from them), closing
    /// ones included: what an operator (or a test) counts to see that none is held for ever.
    public var connectionCount: Int {
        let serverLoops = state.withLock { $0.running > 0 ? $0.serverLoops : [] }
        return serverLoops.reduce(0) { total, serverLoop in
            let box = UncheckedBox(serverLoop)
            let count = onLoop(serverLoop.loop) { () throws(UVError) -> Int in box.value.connectionCount }
            return total + ((try? count.get()) ?? 0)
        }
    }

    /// Connections accepted and closed at once, without a response, because the process held
    /// `maxConnections` already; counted since the server was made. Safe from any thread.
    public var refusedConnections: Int { connectionLimit.refusedCount }

    /// Blocks the calling thread until every loop has stopped (after `shutdown()` or a signal). Never call it on one of the server's loops.
    public func waitUntilStopped() {
        var pause: UInt32 = 1_000
        while state.withLock({ $0.running > 0 }) {
            usleep(pause)
            pause = min(pause * 2, 50_000)  // this thread waits for the server's whole life
        }
        for loop in loops { loop.waitUntilStopped() }
    }

    private func loopStopped(_ loop: EventLoop) {
        state.withLock { $0.running -= 1 }
        loop.stop()
    }

    private func installSignalHandlers() {
        guard let first = loops.first else { return }
        _ = onLoop(first) { () throws(UVError) -> Int in
            for number in [SIGINT, SIGTERM] {
                let handler = try Signal(loop: first, signal: number) { [self] number in
                    logger.info("signal \(number): shutting down")
                    shutdown()
                }
                handler.unref()
            }
            return 0
        }
    }

    /// Runs `work` on `loop` and waits for its result.
    private func onLoop<T>(_ loop: EventLoop, _ work: @escaping () throws(UVError) -> T) -> Result<T, UVError> {
        let semaphore = DispatchSemaphore(value: 0)
        let result = UncheckedBox(ResultSlot<T>())
        let job = UncheckedBox(work)
        loop.execute {
            do throws(UVError) {
                result.value.result = .success(try job.value())
            } catch {
                result.value.result = .failure(error)
            }
            semaphore.signal()
        }
        semaphore.wait()
        return result.value.result!
    }
}

private final class ResultSlot<T> {
    var result: Result<T, UVError>?
}
