public import ArgumentParser
public import CourierServer
#if canImport(Glibc)
import Glibc
#endif

/// The server's command-line options, for any app to embed in its own command:
///
///     struct MyApp: ParsableCommand {
///         @OptionGroup var server: ServerOptions
///         @Option var db = "app.sqlite"
///         func run() throws { try makeApp(db).run(options: server) }
///     }
///
/// An unknown option or a bad value ends the program with ArgumentParser's message and usage
/// (a mistyped `--prot 9000` must not serve on 8080 without a word). `PORT` in the
/// environment stands in for `--port`. An option not given leaves the app's configuration alone.
public struct ServerOptions: ParsableArguments, Sendable {
    /// `--host`; nil leaves the app's configured host.
    @Option(help: "The address to listen on (default: the app's, 0.0.0.0 unless it says otherwise).")
    public var host: String?

    /// `--port` (0...65535, 0 for any free port), else `PORT` once validated; nil leaves the app's port.
    @Option(help: ArgumentHelp("The port to listen on (default: $PORT, else the app's, 8080 unless it says otherwise).",
                               valueName: "port"))
    public var port: Int?

    /// `--workers` (1...1024); nil leaves the app's count (one per core by default).
    @Option(help: "Event loops, each on its own thread (default: one per core).")
    public var workers: Int?

    /// `--busy-poll-us` (0...10,000,000 µs); nil leaves the app's setting. See `ServerConfiguration.busyPollMicroseconds`.
    @Option(name: .customLong("busy-poll-us"),
            help: "Keep each loop polling for this many microseconds after a read instead of sleeping (default 0: off).")
    public var busyPollMicroseconds: Int?

    /// `--reuse-port`: turns SO_REUSEPORT sharing with other processes on; absent never turns it off.
    @Flag(name: .customLong("reuse-port"),
          help: "Share the port with other processes that ask for it too (SO_REUSEPORT).")
    public var reusePort = false

    /// `--max-connections` (1...2,147,483,647); nil leaves the app's setting. See `ServerConfiguration.maxConnections`.
    @Option(name: .customLong("max-connections"),
            help: "The most connections held at once; more are closed at once (default: the descriptor limit less a reserve).")
    public var maxConnections: Int?

    /// `--trusted-proxy`, repeatable: addresses or CIDR ranges of the reverse proxies whose
    /// `X-Forwarded-*` / `Forwarded` fields are believed; else `COURIER_TRUSTED_PROXIES`
    /// (separated by commas or spaces). Neither leaves the app's setting (nobody by default).
    @Option(name: .customLong("trusted-proxy"),
            help: ArgumentHelp("A reverse proxy (address or CIDR range, e.g. 127.0.0.1 or 10.0.0.0/8) whose X-Forwarded-For/-Proto/-Host and Forwarded fields are believed; repeat for several (default: $COURIER_TRUSTED_PROXIES, else nobody).",
                               valueName: "address[/bits]"))
    public var trustedProxies: [String] = []

    /// No options given; ArgumentParser fills them in.
    public init() {}

    /// Reads `PORT` when `--port` is absent and range-checks every value, so a bad one stops the command with its usage before anything starts.
    public mutating func validate() throws {
        if port == nil, let text = Self.environment("PORT") {
            guard let value = Int(text), (0...65535).contains(value) else {
                throw ValidationError("PORT must be a port number (0...65535), got '\(text)'.")
            }
            port = value
        }
        if let port, !(0...65535).contains(port) {
            throw ValidationError("--port must be 0...65535, got \(port).")
        }
        if let workers, !(1...1024).contains(workers) {
            throw ValidationError("--workers must be 1...1024, got \(workers).")
        }
        if let busyPollMicroseconds, !(0...10_000_000).contains(busyPollMicroseconds) {
            throw ValidationError("--busy-poll-us must be 0...10000000 (microseconds), got \(busyPollMicroseconds).")
        }
        if let maxConnections, !(1...ServerConfiguration.maxConnectionsLimit).contains(maxConnections) {
            throw ValidationError("--max-connections must be 1...\(ServerConfiguration.maxConnectionsLimit), got \(maxConnections).")
        }
        var source = "--trusted-proxy"
        if trustedProxies.isEmpty, let text = Self.environment("COURIER_TRUSTED_PROXIES") {
            trustedProxies = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
            source = "COURIER_TRUSTED_PROXIES"
            // Set but naming nothing would silently trust nobody: say so instead.
            if trustedProxies.isEmpty { throw ValidationError("COURIER_TRUSTED_PROXIES names no address.") }
        }
        do {
            _ = try TrustedProxies(parsing: trustedProxies)
        } catch {
            throw ValidationError("\(source): \(error)")
        }
    }

    /// Sets what was given on `configuration`; the rest stays as the app configured it.
    public func apply(to configuration: inout ServerConfiguration) {
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        if let workers { configuration.workers = workers }
        if let busyPollMicroseconds { configuration.busyPollMicroseconds = UInt64(busyPollMicroseconds) }
        if reusePort { configuration.reusePort = true }
        if let maxConnections { configuration.maxConnections = maxConnections }
        // Read again here (validate() refused bad ones); ranges that fail, from options made in
        // code and never validated, trust nobody rather than some.
        if !trustedProxies.isEmpty { configuration.trustedProxies = (try? TrustedProxies(parsing: trustedProxies)) ?? TrustedProxies() }
    }

    /// A variable from the environment, unless unset or empty.
    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty else { return nil }
        return value
    }
}
