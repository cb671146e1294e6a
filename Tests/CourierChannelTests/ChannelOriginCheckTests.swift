import Courier
import CourierChannel
import CourierTesting
import Testing

/// Channels behind `OriginCheck`: the page's own long-polls and the service's own presence
/// notifications still get through; another site's page does not.
@Suite struct ChannelOriginCheckTests {
    @Test func presenceReachesTheAppThroughAStrictOriginCheck() async throws {
        let log = PresenceLog()
        let service = ChannelService(secret: testSecret, settings: testSettings())
        try await withChannelServer(service, presence: log, middleware: [OriginCheck(strict: true)]) { port in
            let socket = try ChannelSocket(port: port)
            _ = try await socket.opened(token: try service.createChannel(clientID: "strict"))
            #expect(await log.wait(forCount: 1) == [event("strict", true)])
            socket.closeLikeTheJavaScriptClient()
            #expect(await log.wait(forCount: 2) == [event("strict", true), event("strict", false)])
        }
    }

    @Test func aSameOriginPageLongPollsAndAnotherSitesIsRefused() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings())
        try await withChannelServer(service, middleware: [OriginCheck()]) { port in
            let token = try service.createChannel(clientID: "poller")
            // LongPollClient sends `Host: 127.0.0.1`, so this page's origin has the default port.
            let page = try LongPollClient(port: port, headers: ["Origin: http://127.0.0.1"])
            let polled = try await page.poll(token: token)
            #expect(polled.status == 200)
            #expect(polled.frames.first?.type == "opened")

            let body = URLEncoding.form([("token", token), ("session", ""), ("seq", "0"), ("cid", "evil")])
            let refused = try await rawRequest(port: port, """
                POST /_ah/channel/poll HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)
                """)
            #expect(refused.status == 403)
        }
    }
}
