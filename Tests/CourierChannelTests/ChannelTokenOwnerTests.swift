import CourierChannel
import Testing

/// `clientID(forToken:)`: which client a request comes from, by the token its page holds.
@Suite struct ChannelTokenOwnerTests {
    @Test func aGenuineTokenNamesItsClientUntilItExpires() throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        let token = try service.createChannel(clientID: "alice", durationMinutes: 1)
        #expect(try service.clientID(forToken: token) == "alice")
        clock.advance(by: 59)
        #expect(try service.clientID(forToken: token) == "alice")
        clock.advance(by: 2)
        #expect(throws: ChannelError.expiredToken) { try service.clientID(forToken: token) }
    }

    @Test func aTokenThisServiceDidNotIssueNamesNobody() throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        let foreign = ChannelService(secret: Array(repeating: 7, count: 32), settings: testSettings(), clock: ManualClock())
        let token = try service.createChannel(clientID: "alice")
        for candidate in [tampered(token), try foreign.createChannel(clientID: "alice"), "alice", "", token + "A"] {
            #expect(throws: ChannelError.invalidToken, "\(candidate)") { try service.clientID(forToken: candidate) }
        }
    }
}
