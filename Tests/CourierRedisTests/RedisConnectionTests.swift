import CourierLoop
import CourierRedis
import Foundation
import Glibc
import Testing

@Suite struct RedisConnectionTests {
    @Test func setAndGetAndBinarySafeValues() async throws {
        try await withRedis { server, loop in
            let redis = try RedisConnection(loop: loop, url: server.url)
            // Issued before the connection exists: it waits for it.
            #expect(try await redis.send("SET", "greeting", "hello") == .simpleString("OK"))
            #expect(try await redis.send("GET", "greeting").string == "hello")

            let every = (0...255).map { UInt8($0) }
            let key: [UInt8] = [0, 13, 10, 255, 36, 42]
            #expect(try await redis.send([bytes("SET"), key, every]) == .simpleString("OK"))
            #expect(try await redis.send([bytes("GET"), key]) == .bulk(every))
            #expect(try await redis.send([bytes("STRLEN"), key]).int == 256)
            #expect(try await redis.send([bytes("SET"), bytes("empty"), []]) == .simpleString("OK"))
            #expect(try await redis.send("GET", "empty") == .bulk([]))
            redis.close()
        }
    }

    @Test func aFourMebibyteValueArrivesWhole() async throws {
        try await withRedis { server, loop in
            let redis = try RedisConnection(loop: loop, url: server.url)
            // Every byte value, in a pattern that does not repeat on any power-of-two boundary.
            let big = (0..<(4 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
            #expect(try await redis.send([bytes("SET"), bytes("big"), big]) == .simpleString("OK"))
            // 4 MiB comes back through 64 KiB reads: the reader assembles it across them.
            let reply = try await redis.send("GET", "big")
            #expect(reply.bytes?.count == big.count)
            #expect(reply == .bulk(big))
            #expect(try await redis.send("PING") == .simpleString("PONG"))
            redis.close()
        }
    }

    @Test func nilAndNestedArrays() async throws {
        try await withRedis { server, loop in
            let redis = try RedisConnection(loop: loop, url: server.url)
            #expect(try await redis.send("GET", "missing") == .null)
            _ = try await redis.send("SET", "a", "1")
            #expect(try await redis.send("MGET", "a", "missing", "a") == .array([.bulk(bytes("1")), .null, .bulk(bytes("1"))]))
            let id = try await redis.send("XADD", "events", "*", "kind", "move", "square", "4")
            let range = try await redis.send("XRANGE", "events", "-", "+")
            #expect(range == .array([.array([id, .array([.bulk(bytes("kind")), .bulk(bytes("move")),
                                                         .bulk(bytes("square")), .bulk(bytes("4"))])])]))
            let lua = try await redis.send("EVAL", "return {1, {2, 'x', {}}, redis.error_reply('inner')}", "0")
            #expect(lua == .array([.integer(1), .array([.integer(2), .bulk(bytes("x")), .array([])]), .error("ERR inner")]))
            #expect(try await redis.send("LRANGE", "nothing", "0", "-1") == .array([]))
            redis.close()
        }
    }

    @Test func serverErrorsAreThrownAndTheConnectionGoesOn() async throws {
        try await withRedis { server, loop in
            let redis = try RedisConnection(loop: loop, url: server.url)
            _ = try await redis.send("LPUSH", "list", "x")
            let error = await redisError { _ = try await redis.send("GET", "list") }
            guard case .server(let message) = error else { throw Failure("not a server error: \(String(describing: error))") }
            #expect(message.hasPrefix("WRONGTYPE"))
            #expect(error?.description.contains("WRONGTYPE") == true)
            await #expect(throws: RedisError.self) { try await redis.send("NOSUCHCOMMAND") }
            #expect(try await redis.send("LLEN", "list").int == 1)
            redis.close()
        }
    }

    @Test func tenThousandPipelinedIncrsAnswerInOrder() async throws {
        try await withRedis { server, loop in
            let redis = try RedisConnection(loop: loop, url: server.url)
            _ = try await redis.send("PING")
            let count = 10_000
            let replies = Recorder<Int>()
            let started = ContinuousClock.now
            await loop.run {
                for _ in 0..<count {
                    redis.send(["INCR", "counter"]) { result in replies.append((try? result.get())?.int ?? -1) }
                }
            }
            #expect(await eventually { replies.count == count })
            let elapsed = ContinuousClock.now - started
            #expect(replies.all == Array(1...count))
            print("10,000 pipelined INCRs answered in \(elapsed)")
            #expect(try await redis.send("GET", "counter").int == count)
            redis.close()
        }
    }

    /// A script Redis has not cached yet, issued many times in one pipeline (the first sends
    /// after a Redis restart): they run in the order issued. Answering NOSCRIPT with a later
    /// EVAL let the EVALSHAs behind it overtake the first ones.
    @Test func pipelinedRunsOfAnUncachedScriptKeepTheirOrder() async throws {
        try await withRedis { server, loop in
            let redis = try RedisConnection(loop: loop, url: server.url)
            _ = try await redis.send("PING")
            let script = RedisScript("return redis.call('RPUSH', KEYS[1], ARGV[1])")
            let count = 500
            let replies = Recorder<Int>()
            for round in 0..<2 {
                if round == 1 { _ = try await redis.send("SCRIPT", "FLUSH") }
                await loop.run {
                    for index in 0..<count {
                        redis.run(script, keys: [Array("order\(round)".utf8)], arguments: [Array(String(index).utf8)]) { result in
                            replies.append((try? result.get())?.int ?? -1)
                        }
                    }
                }
                #expect(await eventually { replies.count == count * (round + 1) })
                let list = try await redis.send("LRANGE", "order\(round)", "0", "-1")
                #expect(list.array?.compactMap(\.string) == (0..<count).map(String.init), round == 0 ? "first use" : "after SCRIPT FLUSH")
            }
            redis.close()
        }
    }

    @Test func scriptsRunBySHAAndSurviveAScriptFlush() async throws {
        try await withRedis { server, loop in
            let redis = try RedisConnection(loop: loop, url: server.url)
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            #expect(try await redis.send("SCRIPT", "LOAD", script.source).string == script.sha1)
            #expect(try await redis.run(script, keys: ["n"], arguments: ["5"]) == .integer(5))
            _ = try await redis.send("SCRIPT", "FLUSH")
            #expect(try await redis.send("SCRIPT", "EXISTS", script.sha1) == .array([.integer(0)]))
            // NOSCRIPT → EVAL, invisibly; EVAL caches it again.
            #expect(try await redis.run(script, keys: ["n"], arguments: ["7"]) == .integer(12))
            #expect(try await redis.send("SCRIPT", "EXISTS", script.sha1) == .array([.integer(1)]))
            // A script's own error is the caller's, not a reason to fall back.
            let failing = RedisScript("return redis.error_reply('nope')")
            await #expect(throws: RedisError.server(message: "ERR nope")) { try await redis.run(failing) }
            redis.close()
        }
    }

    @Test func aTimeoutFailsThatCommandAndThoseBehindAndReconnects() async throws {
        try await withRedis { server, loop in
            var configuration = RedisConfiguration()
            configuration.commandTimeout = .milliseconds(200)
            let redis = try RedisConnection(loop: loop, url: server.url, configuration: configuration)
            let firstID = try await redis.send("CLIENT", "ID")
            let results = Recorder<Result<RESPValue, RedisError>>()
            let started = ContinuousClock.now
            await loop.run {
                redis.send(["DEBUG", "SLEEP", "1"]) { results.append($0) }
                redis.send(["PING"]) { results.append($0) }
            }
            #expect(await eventually { results.count == 2 })
            let elapsed = ContinuousClock.now - started
            #expect(results.all.map { (try? $0.get()) == nil } == [true, true])
            if case .failure(let error) = results.all.first { #expect(error == .timedOut) }
            #expect(elapsed < .milliseconds(900), "the timeout took \(elapsed)")
            // The server is still asleep: give this one room, it goes on a new connection.
            let reply = try await redis.send(["CLIENT", "ID"], timeout: .seconds(5))
            #expect(reply.int != nil && reply != firstID)
            redis.close()
        }
    }

    /// A pipeline Redis takes longer than the timeout to work through, answering all along: no
    /// command times out (each waited behind the ones before it, not on a silent Redis), and the
    /// connection is not reset. Each script runs 100 ms; its 40 KB argument makes Redis read, run
    /// and answer one at a time, as it does a long burst of small ones (it answers after each read).
    @Test func aBurstLongerThanTheTimeoutIsAnsweredWhileRedisKeepsAnswering() async throws {
        try await withRedis { server, loop in
            var configuration = RedisConfiguration()
            configuration.commandTimeout = .milliseconds(250)
            let redis = try RedisConnection(loop: loop, url: server.url, configuration: configuration)
            let firstID = try await redis.send("CLIENT", "ID")
            let busy = """
                local start = redis.call('TIME')
                repeat local now = redis.call('TIME') until (now[1] - start[1]) * 1000000 + (now[2] - start[2]) >= 100000
                return #ARGV[1]
                """
            let padding = String(repeating: "x", count: 40_000)
            let results = Recorder<Result<RESPValue, RedisError>>()
            let started = ContinuousClock.now
            await loop.run {
                for _ in 0..<6 { redis.send(["EVAL", busy, "0", padding]) { results.append($0) } }
            }
            #expect(await eventually { results.count == 6 })
            #expect(ContinuousClock.now - started >= .milliseconds(550), "Redis took 6 × 100 ms, longer than the 250 ms timeout")
            #expect(results.all.allSatisfy { (try? $0.get())?.int == 40_000 }, "\(results.all)")
            #expect(try await redis.send("CLIENT", "ID") == firstID)
            redis.close()
        }
    }

    @Test func reconnectsAfterClientKill() async throws {
        try await withRedis { server, loop in
            let redis = try RedisConnection(loop: loop, url: server.url)
            let admin = try RedisConnection(loop: loop, url: server.url)
            let firstID = try await redis.send("CLIENT", "ID")
            _ = try await admin.send("PING")
            try await Task.sleep(for: .milliseconds(150))
            let killed = try await admin.send("CLIENT", "KILL", "TYPE", "normal")  // SKIPME yes: not admin
            #expect(killed.int == 1)
            let secondID = await redis.sendWhenBack("CLIENT", "ID")
            #expect(secondID != nil && secondID != firstID)
            #expect(try await redis.send("PING") == .simpleString("PONG"))
            redis.close()
            admin.close()
        }
    }

    @Test func reconnectsAfterTheServerIsKilledAndRestarted() async throws {
        try await withRedis { server, loop in
            let redis = try RedisConnection(loop: loop, url: server.url)
            _ = try await redis.send("SET", "k", "before")
            server.kill()
            switch await redisError({ _ = try await redis.send("GET", "k") }) {
            case .connectionLost, .notConnected: break
            case let other: Issue.record("expected a lost connection, got \(String(describing: other))")
            }
            try await server.restart()
            let reply = await redis.sendWhenBack("SET", "k", "after")
            #expect(reply == .simpleString("OK"))
            #expect(try await redis.send("GET", "k").string == "after")
            redis.close()
        }
    }

    @Test func nothingListeningFailsClearlyAndFast() async throws {
        try await withLoop { loop in
            let port = try RedisServerProcess.freePort()
            let redis = try RedisConnection(loop: loop, url: "redis://127.0.0.1:\(port)")
            let started = ContinuousClock.now
            let error = await redisError { _ = try await redis.send("PING") }
            guard case .notConnected(let reason) = error else { throw Failure("\(String(describing: error))") }
            #expect(reason.contains("ECONNREFUSED"), "\(reason)")
            #expect(reason.contains("\(port)"))
            #expect(ContinuousClock.now - started < .seconds(2))
            // Backing off now: refused at once, saying when the next attempt is.
            let refused = await redisError { _ = try await redis.send("PING") }
            guard case .notConnected(let again) = refused else { throw Failure("\(String(describing: refused))") }
            // Refused by the backoff itself, not after an attempt of its own (a bound on the time
            // it took failed when parallel suites kept the test's task waiting for a thread).
            #expect(again.contains("next attempt in"), "\(again)")
            redis.close()
        }
    }

    /// A peer that accepts but never answers: the connect timeout bounds logging in too.
    @Test func aSilentPeerTimesOutTheConnect() async throws {
        try await withLoop { loop in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = RedisServerProcess.loopback(port: 0)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            listen(fd, 8)  // never accepted: the kernel completes the handshake, nobody answers
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            var configuration = RedisConfiguration()
            configuration.connectTimeout = .milliseconds(300)
            let redis = try RedisConnection(loop: loop, url: "redis://127.0.0.1:\(UInt16(bigEndian: address.sin_port))",
                                            configuration: configuration)
            let started = ContinuousClock.now
            let error = await redisError { _ = try await redis.send("PING") }
            guard case .notConnected(let reason) = error else { throw Failure("\(String(describing: error))") }
            #expect(reason.hasPrefix("redis://127.0.0.1:\(UInt16(bigEndian: address.sin_port))/0: no connection within 0.3 seconds"),
                    "\(reason)")
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(290) && elapsed < .seconds(2), "\(elapsed)")
            redis.close()
        }
    }

    @Test func hostNamesAreResolved() async throws {
        try await withRedis { server, loop in
            let redis = try RedisConnection(loop: loop, url: "redis://localhost:\(server.port)")
            #expect(try await redis.send("PING") == .simpleString("PONG"))
            redis.close()
            var configuration = RedisConfiguration()
            configuration.connectTimeout = .seconds(1)
            let nowhere = try RedisConnection(loop: loop, url: "redis://no-such-host.invalid:\(server.port)",
                                              configuration: configuration)
            await #expect(throws: RedisError.self) { try await nowhere.send("PING") }
            nowhere.close()
        }
    }

    @Test func authAndSelectOnEveryConnect() async throws {
        try await withRedis(extraArguments: ["--requirepass", "pa:ss@word"]) { server, loop in
            let redis = try RedisConnection(loop: loop, url: "redis://:pa%3Ass%40word@127.0.0.1:\(server.port)/5")
            _ = try await redis.send("SET", "where", "five")
            let info = try await redis.send("CLIENT", "INFO").string ?? ""
            #expect(info.contains(" db=5 "))
            let zero = try RedisConnection(loop: loop, url: "redis://:pa%3Ass%40word@127.0.0.1:\(server.port)")
            #expect(try await zero.send("GET", "where") == .null)
            // Kill it: the new connection logs in and selects again before any command.
            _ = try await zero.send("CLIENT", "KILL", "TYPE", "normal")
            #expect(await redis.sendWhenBack("GET", "where")?.string == "five")

            let wrong = try RedisConnection(loop: loop, url: "redis://:wrong@127.0.0.1:\(server.port)")
            let error = await redisError { _ = try await wrong.send("PING") }
            guard case .notConnected(let reason) = error else { throw Failure("\(String(describing: error))") }
            #expect(reason.contains("AUTH refused") && reason.contains("WRONGPASS"), "\(reason)")
            #expect(!reason.contains("wrong@"))
            redis.close()
            zero.close()
            wrong.close()
        }
    }

    @Test func queuedBytesAreBounded() async throws {
        try await withRedis { server, loop in
            var configuration = RedisConfiguration()
            configuration.maximumQueuedBytes = 64 * 1024
            let redis = try RedisConnection(loop: loop, url: server.url, configuration: configuration)
            let tooBig = [UInt8](repeating: 1, count: 100 * 1024)
            await #expect(throws: RedisError.overloaded(limitBytes: 64 * 1024)) {
                try await redis.send([bytes("SET"), bytes("x"), tooBig])
            }
            #expect(try await redis.send("PING") == .simpleString("PONG"))
            // Many sends in one loop iteration: those past the bound fail at once, the rest go.
            let results = Recorder<Bool>()
            await loop.run {
                for _ in 0..<10 {
                    redis.send([bytes("SET"), bytes("y"), [UInt8](repeating: 2, count: 20 * 1024)]) { result in
                        if case .failure(.overloaded) = result { results.append(false) } else { results.append(true) }
                    }
                }
            }
            #expect(await eventually { results.count == 10 })
            #expect(results.all.filter { $0 }.count == 3)
            redis.close()
        }
    }

    @Test func closeFailsWhatIsWaitingAndRefusesMore() async throws {
        try await withRedis { server, loop in
            let redis = try RedisConnection(loop: loop, url: server.url)
            _ = try await redis.send("PING")
            let results = Recorder<Result<RESPValue, RedisError>>()
            await loop.run {
                redis.send(["DEBUG", "SLEEP", "0.2"]) { results.append($0) }
                redis.close()
            }
            #expect(results.all.count == 1)
            if case .failure(let error) = results.all.first { #expect(error == .closed) } else { Issue.record("not failed") }
            await #expect(throws: RedisError.closed) { try await redis.send("PING") }
        }
    }
}
