import CourierHTTP
package import CourierLoop
import Logging

/// Something a server loop tracks until it closes: an HTTP connection, or a protocol that
/// took one over. The loop checks its deadline and tells it when the server shuts down.
package protocol LoopConnection: AnyObject {
    /// Called periodically with the loop's clock; close or answer if a deadline has passed.
    func checkDeadline(now: UInt64)
    /// When its next deadline can come, for a connection the loop checks only then (a timer
    /// heap, O(due) per sweep) rather than at every sweep; nil: at every sweep. A connection
    /// whose deadline comes earlier than it said (it began closing) tells the loop
    /// (`reschedule`); one that comes later is simply checked early and asked again.
    var nextDeadline: UInt64? { get }
    /// The server is stopping: finish what is in flight and close (WebSockets send 1001).
    func beginShutdown()
    /// The shutdown deadline has passed: close now.
    func forceClose()
}

/// The per-loop state of a server: its listener, its live connections, the Date cache, and the
/// sweep that enforces timeouts. Used only on its loop.
package final class ServerLoop {
    package let loop: EventLoop
    let configuration: ServerConfiguration
    let responder: any HTTPResponder
    let logger: Logger
    // @exclusivity(unchecked) on the stored properties: used only on its loop; every request reads
    // the Date cache and the shutdown flag (callgrind: checked accesses per request otherwise).
    @exclusivity(unchecked) var listener: TCPListener?
    @exclusivity(unchecked) var dateCache = DateCache()
    /// The zlib streams this loop's WebSockets take turns with (no context takeover).
    let sharedDeflateStreams = SharedDeflateStreams()
    @exclusivity(unchecked) package private(set) var isShuttingDown = false
    @exclusivity(unchecked) private var connections: [ObjectIdentifier: any LoopConnection] = [:]
    /// The connections checked at every sweep (HTTP: their deadlines move with every request).
    @exclusivity(unchecked) private var swept: [ObjectIdentifier: any LoopConnection] = [:]
    /// The others (WebSockets), each checked when its deadline comes: 100,000 idle sockets cost
    /// a sweep the few that are due, not 100,000 calls four times a second.
    @exclusivity(unchecked) private var scheduled = DeadlineSchedule()
    @exclusivity(unchecked) private var sweeper: Timer?
    @exclusivity(unchecked) private var shutdownTimer: Timer?
    private let onStopped: @Sendable () -> Void
    /// The process's connections against `maxConnections`, shared with the other loops.
    let connectionLimit: ConnectionLimit
    /// The open-connection gauges, when the app measures; nil costs an accept one check.
    let metrics: ServerMetrics?

    init(loop: EventLoop, configuration: ServerConfiguration, responder: any HTTPResponder, logger: Logger,
         connectionLimit: ConnectionLimit, metrics: ServerMetrics? = nil, onStopped: @escaping @Sendable () -> Void) {
        self.loop = loop
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.connectionLimit = connectionLimit
        self.metrics = metrics
        self.onStopped = onStopped
    }

    func listen(port: Int) throws(UVError) -> Int {
        let reusePort = configuration.reusePort || configuration.workers > 1
        let limit = connectionLimit
        let gauge = metrics?.connectionsOpen
        let admission = TCPListener.Admission(admits: { [unowned self] in admit() }, released: {
            limit.release()
            gauge?.decrement()
        })
        let listener = try TCPListener(loop: loop, host: configuration.host, port: port, reusePort: reusePort,
                                       admission: admission) { [unowned self] stream in
            accept(stream)
        }
        listener.onPause = { [unowned self] error in acceptPaused(error) }
        self.listener = listener
        let shortest = min(configuration.headerTimeoutMilliseconds, configuration.idleTimeoutMilliseconds)
        // At most 250 ms: WebSocket pings come due in this sweep, and a finer sweep spreads a
        // crowd of them over more loop iterations.
        let interval = max(10, min(250, shortest / 4))
        let sweeper = Timer(loop: loop)
        sweeper.start(after: interval, repeating: interval) { [unowned self] in sweep() }
        self.sweeper = sweeper
        return listener.port
    }

    /// Whether a connection just accepted may stay: refused (closed at once, before it costs
    /// anything more) when the process holds `maxConnections` already.
    private func admit() -> Bool {
        if connectionLimit.admit() {
            metrics?.connectionsOpen.increment()
            return true
        }
        if let refused = connectionLimit.refusalsToReport(now: loop.now) {
            logger.warning("refused connections: the server holds its maximum", metadata: [
                "refused": "\(refused)", "maxConnections": "\(connectionLimit.maximum)",
            ])
        }
        return false
    }

    /// The listener could not accept (out of descriptors or memory) and waits a moment; the
    /// connections already open go on being served.
    private func acceptPaused(_ error: UVError) {
        guard connectionLimit.acceptFailureWarningIsDue(now: loop.now) else { return }
        logger.warning("cannot accept connections for now; retrying as descriptors free up", metadata: [
            "error": "\(error)", "open": "\(connectionLimit.openCount)",
            "retryMilliseconds": "\(TCPListener.pauseMilliseconds)",
        ])
    }

    private func accept(_ stream: TCPStream) {
        guard !isShuttingDown else {
            stream.close()
            return
        }
        let connection = HTTPConnection(stream: stream, serverLoop: self)
        track(connection)
        connection.start()
    }

    package var connectionCount: Int { connections.count }

    package func track(_ connection: any LoopConnection) {
        let id = ObjectIdentifier(connection)
        connections[id] = connection
        if let due = connection.nextDeadline {
            scheduled.schedule(id, at: due)
        } else {
            swept[id] = connection
        }
    }

    package func untrack(_ connection: any LoopConnection) {
        let id = ObjectIdentifier(connection)
        connections.removeValue(forKey: id)
        swept.removeValue(forKey: id)
        connections.shrinkIfSparse()
        swept.shrinkIfSparse()
        scheduled.forget(id)
        if isShuttingDown && connections.isEmpty { finishShutdown() }
    }

    /// The connection's deadline may have come earlier than it last said (it began closing).
    package func reschedule(_ connection: any LoopConnection) {
        let id = ObjectIdentifier(connection)
        guard connections[id] != nil, let due = connection.nextDeadline else { return }
        scheduled.scheduleIfEarlier(id, at: due)
    }

    private func sweep() {
        let now = loop.now
        for connection in Array(swept.values) { connection.checkDeadline(now: now) }
        while let id = scheduled.popDue(now: now) {
            guard let connection = connections[id] else { continue }
            connection.checkDeadline(now: now)
            // Still here (a close completes later, through the stream): when to look again.
            if connections[id] != nil, let due = connection.nextDeadline { scheduled.schedule(id, at: max(due, now + 1)) }
        }
        returnFreedMemory()
    }

    /// The most connections this loop has held since it last gave freed memory back.
    @exclusivity(unchecked) private var peakConnections = 0

    /// After a crowd has gone (a thousand connections closed since the peak), hands the heap's
    /// free pages back to the system: glibc keeps them otherwise, and the process would stay at
    /// the crowd's size for good. Measured: 1,000 WebSockets closed left ~2.6 MB behind without it.
    private func returnFreedMemory() {
        peakConnections = max(peakConnections, connections.count)
        guard peakConnections - connections.count >= 1_000 else { return }
        peakConnections = connections.count
        FreeMemory.returnToSystem()
    }

    func beginShutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        listener?.close()
        listener = nil
        loop.drain()
        if connections.isEmpty {
            finishShutdown()
            return
        }
        let timer = Timer(loop: loop)
        timer.start(after: configuration.shutdownDeadlineMilliseconds) { [unowned self] in
            logger.warning("shutdown deadline passed; closing \(connections.count) connections")
            for connection in Array(connections.values) { connection.forceClose() }
        }
        shutdownTimer = timer
        for connection in Array(connections.values) { connection.beginShutdown() }
    }

    private func finishShutdown() {
        sweeper?.close()
        sweeper = nil
        shutdownTimer?.close()
        shutdownTimer = nil
        onStopped()
    }
}
