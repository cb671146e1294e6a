import Courier
import CourierTesting
import Testing

/// `app.use(Metrics(path:))`: what a Prometheus scraper reads after a few requests, and who may read it.
@Suite struct MetricsTests {
    /// Requests are counted by method, route template (never the path) and status; a request no
    /// route matched is `unmatched`, a method nobody routes is `other`; each route and method
    /// is timed in a histogram; the scrape's own connection is open while it reads.
    @Test func aScrapeShowsRequestsByMethodRouteAndStatus() async throws {
        let app = Application()
        app.use(Metrics(path: "/metrics"))
        app.get("/game/<key:[a-z0-9]+>") { request, response in response.write("game \(request.parameters["key"] ?? "")") }
        app.post("/move") { _, _ in throw HTTPError(.conflict) }
        try await app.test(.live) { client throws in
            #expect(try await client.get("/game/abc").status == 200)
            #expect(try await client.get("/game/xyz").status == 200)
            #expect(try await client.post("/move").status == 409)
            #expect(try await client.get("/nowhere").status == 404)
            #expect(try await client.get("/move").status == 405)
            #expect(try await client.execute("BREW", "/pot").status == 501)
            let scrape = try await client.get("/metrics")
            #expect(scrape.status == 200)
            #expect(scrape.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
            let samples = scrape.prometheusSamples
            #expect(samples[#"http_requests_total{method="GET",route="/game/<key>",status="200"}"#] == 2)
            #expect(samples[#"http_requests_total{method="POST",route="/move",status="409"}"#] == 1)
            #expect(samples[#"http_requests_total{method="GET",route="unmatched",status="404"}"#] == 1)
            #expect(samples[#"http_requests_total{method="GET",route="unmatched",status="405"}"#] == 1)
            #expect(samples[#"http_requests_total{method="other",route="unmatched",status="501"}"#] == 1)
            #expect(samples[#"http_request_duration_seconds_count{method="GET",route="/game/<key>"}"#] == 2)
            #expect(samples[#"http_request_duration_seconds_bucket{method="GET",route="/game/<key>",le="5.0"}"#] == 2)
            #expect(samples["http_connections_open"] == 1)
            #expect(!scrape.text.contains("/game/abc"), "a path, not its template, became a label")
            // The scrape itself is counted once it is answered.
            let again = try await client.get("/metrics").prometheusSamples
            #expect(again[#"http_requests_total{method="GET",route="/metrics",status="200"}"#] == 1)
        }
    }

    /// The WebSocket gauge goes up at the upgrade and back down when the socket closes; the
    /// connection gauge counts the WebSocket's connection too while it is open.
    @Test func theWebSocketGaugeFollowsOpenSockets() async throws {
        let app = Application()
        app.use(Metrics(path: "/metrics"))
        app.webSocket("/ws") { _, socket in
            socket.onText = { socket, text in socket.send(text) }
        }
        try await app.test(.live) { client throws in
            #expect(try await client.get("/metrics").prometheusSamples["websockets_open"] ?? 0 == 0)
            let socket = try WebSocketTestClient(port: client.port, path: "/ws")
            #expect(socket.sendText("hello"))
            #expect(try await socket.readFrame().text == "hello")
            let open = try await client.get("/metrics").prometheusSamples
            #expect(open["websockets_open"] == 1)
            #expect(open["http_connections_open"] == 2)
            #expect(open[#"http_requests_total{method="GET",route="/ws",status="101"}"#] == 1)
            #expect(socket.sendClose())
            _ = try await socket.readFrame()
            #expect(await eventually {
                let samples = try await client.get("/metrics").prometheusSamples
                return samples["websockets_open"] == 0 && samples["http_connections_open"] == 1
            })
        }
    }

    /// Without `Metrics` there is no endpoint and nothing is measured.
    @Test(arguments: bothModes)
    func offByDefault(mode: TestMode) async throws {
        let app = Application()
        app.get("/") { _, response in response.write("home") }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/").status == 200)
            #expect(try await client.get("/metrics").status == 404)
        }
    }

    /// Only this machine may scrape: a request a proxy forwarded (it names the client) is
    /// answered 404, as if nothing were there, and so is anyone a custom `allow` turns away.
    @Test func aClientFromOutsideIsRefused() async throws {
        let app = Application()
        app.use(Metrics(path: "/metrics"))
        try await app.test(.live) { client throws in
            #expect(try await client.get("/metrics").status == 200)
            for header in ["X-Forwarded-For", "X-Real-IP", "Forwarded"] {
                let refused = try await client.get("/metrics", headers: [header: "203.0.113.9"])
                #expect(refused.status == 404, "\(header)")
                #expect(!refused.text.contains("http_requests_total"))
            }
        }
        let strict = Application()
        strict.use(Metrics(path: "/internal/metrics", allow: { request in request.headers["Authorization"] == "Bearer scraper" }))
        try await strict.test(.live) { client throws in
            #expect(try await client.get("/internal/metrics").status == 404)
            #expect(try await client.get("/internal/metrics", headers: ["Authorization": "Bearer scraper"]).status == 200)
        }
    }

    /// The default predicate, address by address.
    @Test(arguments: [("127.0.0.1:5000", true), ("127.9.9.9:1", true), ("[::1]:5000", true), ("in-process", true),
                      ("10.0.0.7:5000", false), ("[2001:db8::1]:443", false), ("203.0.113.9:80", false)])
    func fromThisMachine(address: String, allowed: Bool) {
        let request = Request(method: .get, target: "/metrics", remoteAddress: address)
        #expect(Metrics.fromThisMachine(request) == allowed)
    }

    /// One app reports to one place: a second `Metrics` fails the build, naming the mistake.
    @Test func metricsTwiceIsABuildError() throws {
        let app = Application()
        app.use(Metrics(path: "/metrics"))
        app.use(Metrics(path: "/other-metrics"))
        #expect(throws: ApplicationError.self) { _ = try app.responder() }
    }
}

/// Polls `condition` (a scrape) until it holds, for at most two seconds.
func eventually(_ condition: () async throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(2)
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}
