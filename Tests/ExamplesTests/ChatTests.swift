import CourierChannel
import CourierTesting
import Foundation
import Testing

/// The Chat example against what an attacker tried: taking another visitor's client ID,
/// posting as someone else, and messages too long for a channel.
@Suite("Chat") struct ChatTests {
    /// Each page's client ID is its own: 128 random bits, so no page load draws a connected
    /// visitor's ID (and with it a token that takes over their channel).
    @Test func pageClientIDsCannotBeGuessedOrCollide() async throws {
        try await withChat { server in
            var seen = Set<String>()
            for _ in 0..<300 {
                let tab = try await ChatTab.open(port: server.port)
                #expect(tab.me.hasPrefix("user-"))
                let random = tab.me.dropFirst("user-".count)
                #expect(random.count == 32 && random.allSatisfy { "0123456789abcdef".contains($0) }, "\(tab.me)")
                seen.insert(tab.me)
            }
            #expect(seen.count == 300)
        }
    }

    @Test func theSenderIsThePageWhoseTokenCameWithTheText() async throws {
        try await withChat { server in
            let victim = try await ChatTab.open(port: server.port)
            let listener = try await victim.openChannel(port: server.port)
            let mallory = try await ChatTab.open(port: server.port)
            let sent = try await mallory.send("I am the victim", fields: [("from", victim.me)])
            #expect(sent.status == 204)
            #expect(try await listener.nextMessage() == RoomEventSeen(kind: "message", from: mallory.me, text: "I am the victim"))
        }
    }

    @Test func aSendWithoutAGenuineTokenIsRefusedAndReachesNobody() async throws {
        try await withChat { server in
            let victim = try await ChatTab.open(port: server.port)
            let listener = try await victim.openChannel(port: server.port)
            let mallory = try await ChatTab.open(port: server.port)
            // The first version's form: a name and the text.
            let named = try await mallory.http.post("/send", form: [("from", victim.me), ("text", "forged")])
            #expect(named.status == 400)
            #expect(named.text.contains("token"))
            let foreign = ChannelService(secret: Array(repeating: 9, count: 32))
            for token in ["bogus", victim.me, String(mallory.token.dropLast()) + (mallory.token.hasSuffix("A") ? "B" : "A"),
                          try foreign.createChannel(clientID: victim.me)] {
                let response = try await mallory.send("forged", token: token)
                #expect(response.status == 403, "\(token)")
                #expect(response.text.contains("reload the page"))
            }
            // The token in the URL is not taken: it must not travel where logs and Referers keep it.
            let inQuery = try await mallory.http.post("/send?token=\(mallory.token)", form: [("text", "forged")])
            #expect(inQuery.status == 400)
            #expect(try await mallory.send("genuine").status == 204)
            #expect(try await listener.nextMessage() == RoomEventSeen(kind: "message", from: mallory.me, text: "genuine"),
                    "nothing refused reached the room")
        }
    }

    @Test func anExpiredPageIsToldToReload() async throws {
        let clock = ManualClock()
        try await withChat(clock: clock) { server in
            let tab = try await ChatTab.open(port: server.port)
            clock.advance(by: 121 * 60)
            let response = try await tab.send("too late")
            #expect(response.status == 403)
            #expect(response.text.contains("expired: reload the page"))
        }
    }

    /// A channel message is at most 32,767 bytes of JSON; a longer one is the sender's doing (413
    /// with the reason), never a 500. Escaping counts: a quote is two bytes in JSON.
    @Test func aMessageTooLongForTheChannelIs413() async throws {
        try await withChat { server in
            let tab = try await ChatTab.open(port: server.port)
            let listener = try await tab.openChannel(port: server.port)
            for text in [String(repeating: "a", count: 32_767), String(repeating: "\"", count: 20_000),
                         String(repeating: "é", count: 16_500)] {
                let response = try await tab.send(text)
                #expect(response.status == 413, "\(text.utf8.count) bytes")
                #expect(response.text.contains("This message is too long: the room sends at most 32767 bytes"))
            }
            // Over the route's body limit: refused before it is read.
            #expect(try await tab.send(String(repeating: "a", count: 140_000)).status == 413)
            let fits = String(repeating: "a", count: 32_000)
            #expect(try await tab.send(fits).status == 204)
            #expect(try await listener.nextMessage().text == fits, "nothing refused reached the room")
        }
    }

    @Test func anotherSitesPageCannotSend() async throws {
        try await withChat { server in
            let tab = try await ChatTab.open(port: server.port)
            let listener = try await tab.openChannel(port: server.port)
            let crossSite = try await tab.send("from elsewhere", headers: ["Origin": "http://evil.example"])
            #expect(crossSite.status == 403)
            #expect(crossSite.text.hasPrefix("Cross-site request refused"))
            #expect(try await tab.send("from the page", headers: ["Origin": "http://127.0.0.1:\(server.port)"]).status == 204)
            #expect(try await listener.nextMessage().text == "from the page")
        }
    }

    /// Presence is dispatched through the app, past its OriginCheck.
    @Test func joinsAndLeavesReachTheRoom() async throws {
        try await withChat { server in
            let watcher = try await ChatTab.open(port: server.port)
            let room = try await watcher.openChannel(port: server.port)
            #expect(try await room.nextEvent() == RoomEventSeen(kind: "join", from: watcher.me))
            let other = try await ChatTab.open(port: server.port)
            let otherChannel = try await other.openChannel(port: server.port)
            #expect(try await room.nextEvent() == RoomEventSeen(kind: "join", from: other.me))
            otherChannel.close()
            #expect(try await room.nextEvent() == RoomEventSeen(kind: "leave", from: other.me))
        }
    }
}
