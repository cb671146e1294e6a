import CourierServer
#if canImport(Glibc)
import Glibc
#endif

/// `--name value` / `--name=value` options, with the server's own read by `apply`. Options an
/// app adds (`--db`) are read with `value(_:)`; unknown ones are left for the app.
public struct CommandLineOptions: Sendable {
    public let arguments: [String]

    public init(_ arguments: [String] = CommandLine.arguments) { self.arguments = arguments }

    public func value(_ name: String) -> String? {
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--\(name)", index + 1 < arguments.endIndex { return arguments[index + 1] }
            if argument.hasPrefix("--\(name)=") { return String(argument.dropFirst(name.count + 3)) }
            index += 1
        }
        return nil
    }

    public func integer(_ name: String) throws -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text), text.first != "+" else { throw ApplicationError("--\(name) expects a whole number, got '\(text)'") }
        return number
    }

    public func apply(to configuration: inout ServerConfiguration) throws {
        if let text = getenv("PORT").map({ String(cString: $0) }), !text.isEmpty {
            guard let port = Int(text), (0...65535).contains(port) else { throw ApplicationError("PORT must be 0...65535, got '\(text)'") }
            configuration.port = port
        }
        if let port = try integer("port") {
            guard (0...65535).contains(port) else { throw ApplicationError("--port must be 0...65535, got \(port)") }
            configuration.port = port
        }
        if let workers = try integer("workers") {
            guard (1...1024).contains(workers) else { throw ApplicationError("--workers must be 1...1024, got \(workers)") }
            configuration.workers = workers
        }
        if let host = value("host") { configuration.host = host }
        if arguments.contains("--reuse-port") { configuration.reusePort = true }
        if let microseconds = try integer("busy-poll-us") {
            guard (0...10_000_000).contains(microseconds) else {
                throw ApplicationError("--busy-poll-us must be 0...10000000 (microseconds), got \(microseconds)")
            }
            configuration.busyPollMicroseconds = UInt64(microseconds)
        }
    }
}
