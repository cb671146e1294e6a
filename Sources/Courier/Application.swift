public import CourierHTTP
public import CourierLoop
public import CourierServer
import CoreMetrics
public import Logging
import Synchronization

/// What apps build: routes and middleware, then `run()`.
///
///     let app = Application()
///     app.route("/", MainPage())
///     app.post("/move") { request, response in ... }
///     try app.run()
///
/// Registration mistakes (a bad template, a method registered twice, middleware added after
/// routes) are collected and thrown by `run()`/`start()` before anything is served.
public final class Application: Sendable {
    /// The app's logger (`courier.app` unless given), for handlers and middleware to share.
    public let logger: Logger
    let builder = Locked(Builder())

    struct Builder {
        var configuration = ServerConfiguration()
        var router = Router()
        var stages: [Stage] = []
        var errors: [ApplicationError] = []
        var mounting = false
        /// Where Courier's own instruments report, once `Metrics` is added; nil measures nothing.
        var metricsFactory: (any MetricsFactory)?
        /// The request-duration histograms the Prometheus endpoint renders itself, if it does.
        var durationHistograms: DurationHistograms?
        var serverMetrics: ServerMetrics?
        /// Stages added before `Metrics` that measure too (the channel service), told when it comes.
        var metricsObservers: [@Sendable (any MetricsFactory) -> Void] = []
    }

    private let blockingThreads: Int
    private let blockingPool = Locked<BlockingPool?>(nil)

    /// `blockingThreads`: the size of `blocking`, the pool for handlers' blocking work.
    public init(configuration: ServerConfiguration = ServerConfiguration(), logger: Logger = Logger(label: "courier.app"),
                blockingThreads: Int = 4) {
        self.logger = logger
        self.blockingThreads = max(1, blockingThreads)
        builder.withLock { $0.configuration = configuration }
    }

    /// Threads for work that would block a loop (a database call, a file read): a handler
    /// writes `try await app.blocking.run { try database.read(...) }` and resumes on its loop
    /// when the work is done, while the loop serves its other connections. Made at first use.
    public var blocking: BlockingPool {
        blockingPool.withLock { pool in
            if let pool { return pool }
            let made = BlockingPool(threads: blockingThreads)
            pool = made
            return made
        }
    }

    /// The server settings `run()` and `start()` use; set it before starting, since a running server keeps the copy it started with. Safe from any thread.
    public var configuration: ServerConfiguration {
        get { builder.withLock { $0.configuration } }
        set { builder.withLock { $0.configuration = newValue } }
    }

    // MARK: Routes

    /// Mounts a handler type; its verbs come from the handler protocols it conforms to.
    public func route(_ template: String, _ handler: some RequestHandler, maxBodyBytes: Int? = nil) {
        add(template, Handler.methods(of: handler), maxBodyBytes: maxBodyBytes)
    }

    /// Routes `method` at `template` (`<name>` or `<name:regex>` parts) to a handler that runs inline on the loop. `maxBodyBytes` overrides the server's body limit for this route (413 beyond it).
    /// A bad template or a method already routed there is reported by `run()`/`start()`, not here.
    public func on(_ method: HTTPMethod, _ template: String, maxBodyBytes: Int? = nil, _ handler: @escaping SyncHandler) {
        add(template, [(method, .sync(handler))], maxBodyBytes: maxBodyBytes)
    }

    /// Routes `method` at `template` to a handler that may await; it runs in a Task on the connection's loop. Otherwise as the synchronous form.
    public func on(_ method: HTTPMethod, _ template: String, maxBodyBytes: Int? = nil, _ handler: @escaping AsyncHandler) {
        add(template, [(method, .async(handler))], maxBodyBytes: maxBodyBytes)
    }

    /// A GET route, which also answers HEAD (the body is dropped); runs inline on the loop.
    public func get(_ template: String, _ handler: @escaping SyncHandler) { on(.get, template, handler) }
    /// A GET route, which also answers HEAD; may await.
    public func get(_ template: String, _ handler: @escaping AsyncHandler) { on(.get, template, handler) }
    /// A POST route; runs inline on the loop. `maxBodyBytes` overrides the server's body limit.
    public func post(_ template: String, maxBodyBytes: Int? = nil, _ handler: @escaping SyncHandler) { on(.post, template, maxBodyBytes: maxBodyBytes, handler) }
    /// A POST route that may await. `maxBodyBytes` overrides the server's body limit.
    public func post(_ template: String, maxBodyBytes: Int? = nil, _ handler: @escaping AsyncHandler) { on(.post, template, maxBodyBytes: maxBodyBytes, handler) }
    /// A PUT route; runs inline on the loop. `maxBodyBytes` overrides the server's body limit.
    public func put(_ template: String, maxBodyBytes: Int? = nil, _ handler: @escaping SyncHandler) { on(.put, template, maxBodyBytes: maxBodyBytes, handler) }
    /// A PUT route that may await. `maxBodyBytes` overrides the server's body limit.
    public func put(_ template: String, maxBodyBytes: Int? = nil, _ handler: @escaping AsyncHandler) { on(.put, template, maxBodyBytes: maxBodyBytes, handler) }
    /// A DELETE route; runs inline on the loop.
    public func delete(_ template: String, _ handler: @escaping SyncHandler) { on(.delete, template, handler) }
    /// A DELETE route that may await.
    public func delete(_ template: String, _ handler: @escaping AsyncHandler) { on(.delete, template, handler) }
    /// A PATCH route; runs inline on the loop. `maxBodyBytes` overrides the server's body limit.
    public func patch(_ template: String, maxBodyBytes: Int? = nil, _ handler: @escaping SyncHandler) { on(.patch, template, maxBodyBytes: maxBodyBytes, handler) }
    /// A PATCH route that may await. `maxBodyBytes` overrides the server's body limit.
    public func patch(_ template: String, maxBodyBytes: Int? = nil, _ handler: @escaping AsyncHandler) { on(.patch, template, maxBodyBytes: maxBodyBytes, handler) }

    private func add(_ template: String, _ handlers: [(HTTPMethod, Handler)], maxBodyBytes: Int?) {
        builder.withLock { builder in
            do throws(ApplicationError) {
                try builder.router.add(template, handlers, maxBodyBytes: maxBodyBytes, mounted: builder.mounting)
            } catch {
                builder.errors.append(error)
            }
        }
    }

    // MARK: Middleware

    /// Adds middleware and filters, outermost first. They wrap every route, whether added before
    /// or after them (the chain is assembled when the server starts), and the routes they mount
    /// are matched before the app's own, as in DESIGN.md's example, which adds routes first.
    public func use(_ stages: any RequestStage...) {
        builder.withLock { builder in
            for item in stages {
                do throws(ApplicationError) {
                    if let stage = try Stage(item) { builder.stages.append(stage) }
                } catch {
                    builder.errors.append(error)
                }
            }
            builder.mounting = true
        }
        defer { builder.withLock { $0.mounting = false } }
        for item in stages {
            do {
                try item.mount(on: self)
            } catch {
                builder.withLock { $0.errors.append(ApplicationError("middleware \(type(of: item)): \(error)")) }
            }
        }
    }

    // MARK: Building and running

    /// Records a mistake found by a registration helper outside the router (a missing static
    /// directory); `responder()` throws it with the others.
    func reportBuildError(_ error: ApplicationError) {
        builder.withLock { $0.errors.append(error) }
    }

    /// Freezes routes and middleware into the responder the server calls.
    public func responder() throws -> ApplicationResponder {
        try builder.withLock { builder in
            if let first = builder.errors.first {
                throw builder.errors.count == 1 ? first
                    : ApplicationError(builder.errors.map(\.description).joined(separator: "\n"))
            }
            return ApplicationResponder(router: builder.router, stages: builder.stages, logger: logger,
                                        metricsFactory: builder.metricsFactory, durations: builder.durationHistograms)
        }
    }

    /// Starts serving in the background and returns the running server (tests, embedding).
    public func start(configuration override: ServerConfiguration? = nil) throws -> HTTPServer {
        let server = HTTPServer(configuration: override ?? configuration, responder: try responder(),
                                logger: Logger(label: "courier.http"), metrics: builder.withLock { $0.serverMetrics })
        try server.start()
        return server
    }

    /// Serves until SIGINT/SIGTERM, with the server's options from the command line
    /// (`ServerOptions`: `--port`, `--host`, `--workers`, `--busy-poll-us`, `--reuse-port`,
    /// `--max-connections`, `--trusted-proxy`, and PORT and COURIER_TRUSTED_PROXIES from the environment). An unknown option or a bad value, or `--help`, ends the
    /// program with ArgumentParser's message and usage. An app with options of its own embeds
    /// `ServerOptions` in its command (`@OptionGroup`) and calls `run(options:)`.
    public func run(arguments: [String] = Array(CommandLine.arguments.dropFirst())) throws {
        let options: ServerOptions
        do {
            options = try ServerOptions.parse(arguments)
        } catch {
            ServerOptions.exit(withError: error)
        }
        try run(options: options)
    }

    /// Serves until SIGINT/SIGTERM with `options` applied to the configuration.
    public func run(options: ServerOptions) throws {
        var configuration = configuration
        options.apply(to: &configuration)
        let server = HTTPServer(configuration: configuration, responder: try responder(), logger: Logger(label: "courier.http"),
                                metrics: builder.withLock { $0.serverMetrics })
        try server.run()
    }
}
