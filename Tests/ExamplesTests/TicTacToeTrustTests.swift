import Courier
import CourierTesting
import Foundation
import Testing
import TicTacToeApp

/// Who may make Channel Tac Toe do something: only a game's players ask for its state to be
/// resent, and no other site's page can post a move for a signed-in player.
@Suite("TicTacToe: who may ask") struct TicTacToeTrustTests {
    /// The state O's joining sent to both pages, which each channel receives first.
    static func joined(_ game: StartedGame) throws -> GameState {
        GameState(board: Game.emptyBoard, userX: try game.x.me, userO: try game.o.me, moveX: true, winner: "", winningBoard: "")
    }

    @Test func onlyAPlayerMayAskForTheStateAgain() async throws {
        try await withTicTacToe { server in
            let game = try await StartedGame.start(port: server.port)
            let xChannel = try await game.x.openChannel(port: server.port)
            let oChannel = try await game.o.openChannel(port: server.port)
            for channel in [xChannel, oChannel] { #expect(try await channel.nextState() == (try Self.joined(game))) }

            let signedOut = Player("nobody", port: server.port)
            for _ in 0..<50 {
                let response = try await signedOut.post("/opened?g=\(game.key)")
                #expect(response.status == 401)
            }
            let stranger = try await Player.signedIn("stranger@example.com", port: server.port)
            let refused = try await stranger.post("/opened?g=\(game.key)")
            #expect(refused.status == 403)
            #expect(refused.text.contains("You are not a player in this game."))
            #expect(await xChannel.isSilent(), "no refused request reached X")
            #expect(await oChannel.isSilent(), "no refused request reached O")

            #expect(try await game.o.post("/opened?g=\(game.key)").status == 204)
            for channel in [xChannel, oChannel] { #expect(try await channel.nextState() == (try Self.joined(game))) }
            #expect(try await game.x.post("/opened?g=nope").status == 400)
            #expect(try await signedOut.post("/opened?g=nope").status == 401)
        }
    }

    @Test func aMovePostedByAnotherSitesPageIsRefused() async throws {
        try await withTicTacToe { server in
            let game = try await StartedGame.start(port: server.port)
            let oChannel = try await game.o.openChannel(port: server.port)
            #expect(try await oChannel.nextState() == (try Self.joined(game)))
            let before = try #require(try await server.storedGame(game.key))

            let crossSite = try await game.x.post("/move?g=\(game.key)&i=4", origin: "http://evil.example")
            #expect(crossSite.status == 403)
            #expect(crossSite.text.hasPrefix("Cross-site request refused"))
            var viaReferer = game.x.headers
            viaReferer.add("Referer", "http://evil.example/tictactoe.html")
            #expect(try await game.x.http.post("/move?g=\(game.key)&i=4", headers: viaReferer).status == 403)
            #expect(try await game.x.post("/opened?g=\(game.key)", origin: "http://evil.example").status == 403)
            #expect(try await server.storedGame(game.key) == before, "the refused move changed nothing")
            #expect(await oChannel.isSilent(), "and told nobody anything")

            // The game's own page, as the browser posts it.
            let samePage = try await game.x.post("/move?g=\(game.key)&i=4", origin: "http://127.0.0.1:\(server.port)")
            #expect(samePage.status == 200)
            #expect(try await oChannel.nextState().board == "    X    ")
            // A client that names no origin at all (curl, an old browser) still plays.
            #expect(try await game.o.move(game.key, 0).status == 200)
            #expect(try await server.storedGame(game.key)?.board == "O   X    ")
        }
    }
}
