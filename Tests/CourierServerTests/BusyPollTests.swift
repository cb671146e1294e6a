import Courier
import CourierServer
import CourierTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension HTTPServerTests {
    /// `ServerConfiguration.busyPollMicroseconds`: a loop keeps polling for its window after a
    /// read, then sleeps again. Watched through the loop thread's own CPU clock, which another
    /// thread can read without waking the loop.
    @Suite struct BusyPollTests {
        private func configuration(busyPollMicroseconds: UInt64) -> ServerConfiguration {
            var configuration = ServerConfiguration.forTests()
            configuration.busyPollMicroseconds = busyPollMicroseconds
            return configuration
        }

        /// The loop thread's CPU clock, asked for on the loop (which is activity: it opens a window).
        private func cpuClock(of loop: EventLoop) async -> clockid_t {
            await withCheckedContinuation { continuation in
                loop.execute {
                    var clock = clockid_t()
                    pthread_getcpuclockid(pthread_self(), &clock)
                    continuation.resume(returning: clock)
                }
            }
        }

        private func cpuSeconds(_ clock: clockid_t) -> Double {
            var time = timespec()
            clock_gettime(clock, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        }

        /// CPU the loop thread used over `milliseconds` of wall time.
        private func cpuUsed(by clock: clockid_t, over milliseconds: Int) async throws -> Double {
            let before = cpuSeconds(clock)
            try await Task.sleep(for: .milliseconds(milliseconds))
            return cpuSeconds(clock) - before
        }

        @Test func aPollingLoopAnswersAndStaysAwakeThroughItsWindow() async throws {
            try await withServer(configuration: configuration(busyPollMicroseconds: 30_000_000)) { server in
                let loop = try #require(server.loops.first)
                let clock = await cpuClock(of: loop)
                let client = try RawClient(port: server.port)
                client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                let response = try client.readResponse()
                #expect(response.status == 200 && response.text == "hello")
                #expect(loop.isBusyPolling)
                // Nothing arrives now, yet the loop keeps its core: it is polling, not asleep.
                let used = try await cpuUsed(by: clock, over: 400)
                #expect(used > 0.1, "the loop thread used \(used) s of CPU in 0.4 s")
                #expect(loop.isBusyPolling)
            }
        }

        @Test func aPollingLoopGoesBackToSleepWhenItsWindowPasses() async throws {
            try await withServer(configuration: configuration(busyPollMicroseconds: 20_000)) { server in
                let loop = try #require(server.loops.first)
                let clock = await cpuClock(of: loop)
                let client = try RawClient(port: server.port)
                client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try client.readResponse().text == "hello")
                try await Task.sleep(for: .milliseconds(200))
                #expect(!loop.isBusyPolling)
                let used = try await cpuUsed(by: clock, over: 400)
                #expect(used < 0.1, "the loop thread used \(used) s of CPU in 0.4 s while idle")
                // A request after the window is answered as before, and opens a new window.
                client.send("GET /n/2 HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try client.readResponse().text == "n=2")
            }
        }

        @Test func withoutAWindowTheLoopNeverPolls() async throws {
            try await withServer { server in
                let loop = try #require(server.loops.first)
                let clock = await cpuClock(of: loop)
                let client = try RawClient(port: server.port)
                client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try client.readResponse().text == "hello")
                #expect(!loop.isBusyPolling)
                let used = try await cpuUsed(by: clock, over: 300)
                #expect(used < 0.1, "the loop thread used \(used) s of CPU in 0.3 s while idle")
            }
        }
    }
}
