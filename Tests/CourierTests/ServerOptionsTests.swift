import Courier
import Testing

/// The server's command-line options (ArgumentParser): given values land in the configuration,
/// bad ones and unknown ones are errors that name the option, absent ones change nothing.
@Suite struct ServerOptionsTests {
    private func configured(_ arguments: [String]) throws -> ServerConfiguration {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 8080, workers: 4)
        try ServerOptions.parse(arguments).apply(to: &configuration)
        return configuration
    }

    @Test func separateValues() throws {
        let configuration = try configured(["--port", "1234", "--workers", "2", "--host", "0.0.0.0"])
        #expect(configuration.port == 1234)
        #expect(configuration.workers == 2)
        #expect(configuration.host == "0.0.0.0")
    }

    @Test func valuesAfterAnEqualsSign() throws {
        let configuration = try configured(["--port=99", "--workers=3"])
        #expect(configuration.port == 99)
        #expect(configuration.workers == 3)
    }

    @Test(arguments: [["--port", "abc"], ["--port=12x"], ["--port", "70000"], ["--port=-1"], ["--workers", "0"], ["--workers=many"],
                      ["--busy-poll-us", "-5"], ["--busy-poll-us=soon"], ["--busy-poll-us", "20000000"],
                      ["--max-connections", "0"], ["--max-connections=-3"], ["--max-connections", "2147483648"],
                      ["--max-connections=lots"]])
    func badNumbersAreErrorsNamingTheOption(arguments: [String]) {
        let error = #expect(throws: (any Error).self) { _ = try configured(arguments) }
        let option = arguments[0].split(separator: "=")[0]
        let message = error.map { ServerOptions.message(for: $0) } ?? ""
        #expect(message.contains(option), "\(message)")
    }

    /// A typo used to be ignored, and the server came up on the default port.
    @Test(arguments: [["--prot", "9000"], ["--wokers=2"], ["extra"], ["-p", "1"]])
    func unknownOptionsAreErrors(arguments: [String]) {
        let error = #expect(throws: (any Error).self) { _ = try configured(arguments) }
        let message = error.map { ServerOptions.message(for: $0) } ?? ""
        #expect(message.contains("Unknown option") || message.contains("Unexpected argument"), "\(message)")
        #expect(ServerOptions.exitCode(for: error!) != .success)
    }

    @Test func helpNamesEveryOption() {
        let help = ServerOptions.helpMessage()
        for option in ["--host", "--port", "--workers", "--busy-poll-us", "--reuse-port", "--max-connections", "--trusted-proxy"] {
            #expect(help.contains(option), "\(option) in \(help)")
        }
    }

    @Test func busyPollingIsOffUnlessAsked() throws {
        #expect(try configured([]).busyPollMicroseconds == 0)
        #expect(try configured(["--busy-poll-us", "50"]).busyPollMicroseconds == 50)
        #expect(try configured(["--busy-poll-us=20000"]).busyPollMicroseconds == 20_000)
    }

    @Test func optionsNotGivenLeaveTheConfigurationAlone() throws {
        let configuration = try configured([])
        #expect(configuration.workers == 4)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8080)
        #expect(!configuration.reusePort)
    }

    @Test func theCommandLineAsksForReusePort() throws {
        #expect(try !configured(["--port", "9000"]).reusePort)
        let configuration = try configured(["--reuse-port", "--port", "9000"])
        #expect(configuration.reusePort)
        #expect(configuration.port == 9000)
    }

    @Test func theCommandLineSetsTheConnectionLimit() throws {
        #expect(try configured([]).maxConnections == ServerConfiguration.defaultMaxConnections)
        #expect(try configured(["--max-connections", "1"]).maxConnections == 1)
        #expect(try configured(["--max-connections=2147483647"]).maxConnections == 2_147_483_647)
    }

    @Test func trustedProxiesAreRepeatedAndTrustNobodyUnlessGiven() throws {
        #expect(try configured([]).trustedProxies.isEmpty || ServerOptions.environment("COURIER_TRUSTED_PROXIES") != nil)
        let configuration = try configured(["--trusted-proxy", "127.0.0.1", "--trusted-proxy=10.0.0.0/8", "--trusted-proxy", "fd00::/8"])
        #expect(configuration.trustedProxies.description == "127.0.0.1, 10.0.0.0/8, fd00::/8")
    }

    @Test(arguments: [
        ("1.2.3.999", "not an IPv4 or IPv6 address"), ("10.0.0.0/999", "0...32"), ("", "empty"), ("::/200", "0...128"),
        ("example.com", "not an IPv4"), (String(repeating: "1", count: 100_000), "too long"), ("10.0.0.0/8,11.0.0.0/8", "0...32"),
    ])
    func hostileTrustedProxiesAreValidationErrors(value: String, words: String) {
        let error = #expect(throws: (any Error).self) { _ = try configured(["--trusted-proxy", "127.0.0.1", "--trusted-proxy", value]) }
        let message = error.map { ServerOptions.message(for: $0) } ?? ""
        #expect(message.contains("--trusted-proxy") && message.contains(words), "\(message.prefix(300))")
        #expect(message.count < 400)
    }
}
