import Courier
import Testing

@Suite struct CommandLineOptionsTests {
    private func configured(_ arguments: [String]) throws -> ServerConfiguration {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 8080, workers: 4)
        try CommandLineOptions(["app"] + arguments).apply(to: &configuration)
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
                            ["--busy-poll-us", "-5"], ["--busy-poll-us=soon"], ["--busy-poll-us", "20000000"]])
    func badNumbersAreErrorsNamingTheOption(arguments: [String]) {
        let error = #expect(throws: ApplicationError.self) { _ = try configured(arguments) }
        let option = arguments[0].split(separator: "=")[0]
        #expect(error?.description.contains(option) == true, "\(error?.description ?? "")")
    }

    @Test func busyPollingIsOffUnlessAsked() throws {
        #expect(try configured([]).busyPollMicroseconds == 0)
        #expect(try configured(["--busy-poll-us", "50"]).busyPollMicroseconds == 50)
        #expect(try configured(["--busy-poll-us=20000"]).busyPollMicroseconds == 20_000)
    }

    @Test func optionsTheAppAddsAreReadByName() {
        let options = CommandLineOptions(["app", "--db", "games.sqlite", "--port=1", "--portal=x"])
        #expect(options.value("db") == "games.sqlite")
        #expect(options.value("portal") == "x")
        #expect(options.value("port") == "1")
        #expect(options.value("missing") == nil)
    }

    @Test func optionsNotGivenLeaveTheConfigurationAlone() throws {
        let configuration = try configured(["--db", "x"])
        #expect(configuration.workers == 4)
        #expect(configuration.host == "127.0.0.1")
    }
}
