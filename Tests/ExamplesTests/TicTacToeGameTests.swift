import Courier
import CourierTesting
import Foundation
import Testing
import TicTacToeApp

/// Every rule of Channel Tac Toe (CHANNEL_API.md section 6), over real sockets, checked against
/// what the players' pages receive and what SQLite holds.
@Suite("TicTacToe: games") struct TicTacToeGameTests {
    static let lines = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]]

    @Test func aNewGameHasTheCreatorAsXAndXToMove() async throws {
        try await withTicTacToe { server in
            let x = try await Player.signedIn("x@example.com", port: server.port)
            let response = try await x.open()
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"]?.hasPrefix("text/html") == true)
            let key = try x.gameKey
            #expect(key == (try x.me), "a game is keyed by its creator's user ID")
            let game = try #require(try await server.storedGame(key))
            #expect(game == Game(key: key, userX: try x.me))
            #expect(x.page.contains("http://127.0.0.1:\(server.port)/?g=\(key)"), "the invite link")
            for id in ["0", "1", "2", "3", "4", "5", "6", "7", "8", "other-player", "your-move", "their-move",
                       "you-won", "you-lost", "draw", "board", "this-game"] {
                #expect(x.page.contains("id=\"\(id)\""), "element #\(id)")
            }
            #expect(x.page.contains("\"board\":\"         \""), "the initial state is in the page")
            #expect(x.page.contains("/_ah/channel/jsapi"))
        }
    }

    @Test func aSecondUserJoinsAsOAndXHearsOfIt() async throws {
        try await withTicTacToe { server in
            let x = try await Player.signedIn("x@example.com", port: server.port)
            try await x.open()
            let key = try x.gameKey
            let xChannel = try await x.openChannel(port: server.port)
            let o = try await Player.signedIn("o@example.com", port: server.port)
            #expect(try await o.open("/?g=\(key)").status == 200)
            #expect(try o.gameKey == key)
            let game = try #require(try await server.storedGame(key))
            #expect(game.userO == (try o.me))
            #expect(game.userX == (try x.me))
            let state = try await xChannel.nextState()
            #expect(state == GameState(board: Game.emptyBoard, userX: try x.me, userO: try o.me, moveX: true,
                                       winner: "", winningBoard: ""))
            #expect(o.page.contains("\"userO\":\"\(try o.me)\""))
        }
    }

    @Test func theCreatorCannotBecomeOAndAThirdUserDoesNotReplaceO() async throws {
        try await withTicTacToe { server in
            let x = try await Player.signedIn("x@example.com", port: server.port)
            try await x.open()
            let key = try x.gameKey
            #expect(try await x.open("/?g=\(key)").status == 200)
            #expect(try await server.storedGame(key)?.userO == "")
            let o = try await Player.signedIn("o@example.com", port: server.port)
            try await o.open("/?g=\(key)")
            let third = try await Player.signedIn("third@example.com", port: server.port)
            #expect(try await third.open("/?g=\(key)").status == 200, "a third user may watch")
            let game = try #require(try await server.storedGame(key))
            #expect(game.userX == (try x.me))
            #expect(game.userO == (try o.me))
        }
    }

    @Test func anUnknownGameIsNotFound() async throws {
        try await withTicTacToe { server in
            let player = try await Player.signedIn("x@example.com", port: server.port)
            let response = try await player.get("/?g=nosuchgame")
            #expect(response.status == 404)
            #expect(response.text.contains("No such game"))
            #expect(try await player.post("/opened?g=nosuchgame").status == 400)
            #expect(try await player.move("nosuchgame", 0).status == 400)
        }
    }

    @Test func bothPlayersReceiveTheStateAfterEveryMove() async throws {
        try await withTicTacToe { server in
            let game = try await StartedGame.start(port: server.port)
            let xChannel = try await game.x.openChannel(port: server.port)
            let oChannel = try await game.o.openChannel(port: server.port)
            // Opened pages post /opened, which resends the state to both.
            #expect(try await game.x.post("/opened?g=\(game.key)").status == 204)
            let opened = GameState(board: Game.emptyBoard, userX: try game.x.me, userO: try game.o.me, moveX: true,
                                   winner: "", winningBoard: "")
            // Both pages first get the state sent when O joined (held until they connected).
            for channel in [xChannel, oChannel] {
                #expect(try await channel.nextState() == opened)
                #expect(try await channel.nextState() == opened)
            }

            var board = Array(Game.emptyBoard)
            for (index, square) in [4, 0, 2, 6, 3, 5, 1, 7, 8].enumerated() {
                let mover = index % 2 == 0 ? game.x : game.o
                let response = try await mover.move(game.key, square)
                #expect(response.status == 200)
                board[square] = index % 2 == 0 ? "X" : "O"
                let expected = GameState(board: String(board), userX: try game.x.me, userO: try game.o.me,
                                         moveX: index % 2 == 1, winner: "", winningBoard: "")
                #expect(try await xChannel.nextState() == expected)
                #expect(try await oChannel.nextState() == expected)
                #expect(try JSONDecoder().decode(GameState.self, from: Data(response.body)) == expected)
            }
            let final = try #require(try await server.storedGame(game.key))
            #expect(final.isDraw)
            #expect(final.board == "OXXXXOOOX")
        }
    }

    @Test func theStateMessageHasExactlyTheOriginalKeys() async throws {
        try await withTicTacToe { server in
            let game = try await StartedGame.start(port: server.port)
            let xChannel = try await game.x.openChannel(port: server.port)
            _ = try await game.x.move(game.key, 0)
            // Skip to the frame after the move; read it raw.
            while true {
                let frame = try await xChannel.client.readFrame()
                guard frame.opcode == WebSocketOpcode.text.rawValue,
                      let outer = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any],
                      let data = outer["data"] as? String,
                      let state = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else { continue }
                guard (state["board"] as? String) != Game.emptyBoard else { continue }
                #expect(Set(state.keys) == ["board", "userX", "userO", "moveX", "winner", "winningBoard"])
                #expect(state["moveX"] as? Bool == false)
                break
            }
        }
    }

    /// As the original's make_move: X is a player and it is X's turn from the start, so X may
    /// move before O has joined; O then joins with O to move.
    @Test func xMayMoveBeforeOJoins() async throws {
        try await withTicTacToe { server in
            let x = try await Player.signedIn("early@example.com", port: server.port)
            #expect(try await x.open().status == 200)
            let key = try x.gameKey
            let moved = try await x.move(key, 4)
            #expect(moved.status == 200)
            #expect(try await server.storedGame(key)?.board == "    X    ")
            #expect(try await x.move(key, 0).status == 409, "X again before O")
            let o = try await Player.signedIn("late@example.com", port: server.port)
            #expect(try await o.open("/?g=\(key)").status == 200)
            #expect(try await o.move(key, 0).status == 200)
            #expect(try await server.storedGame(key)?.board == "O   X    ")
        }
    }

    // MARK: Illegal moves leave the stored game untouched

    @Test func illegalMovesChangeNothing() async throws {
        try await withTicTacToe { server in
            let game = try await StartedGame.start(port: server.port)
            try await game.play([4])
            let before = try #require(try await server.storedGame(game.key))
            let stranger = try await Player.signedIn("stranger@example.com", port: server.port)
            let signedOut = Player("nobody", port: server.port)

            let cases: [(String, Player, String, Int)] = [
                ("not a player", stranger, "/move?g=\(game.key)&i=0", 403),
                ("signed out", signedOut, "/move?g=\(game.key)&i=0", 401),
                ("not your turn", game.x, "/move?g=\(game.key)&i=0", 409),
                ("occupied", game.o, "/move?g=\(game.key)&i=4", 409),
                ("out of range 9", game.o, "/move?g=\(game.key)&i=9", 400),
                ("out of range -1", game.o, "/move?g=\(game.key)&i=-1", 400),
                ("malformed", game.o, "/move?g=\(game.key)&i=x", 400),
                ("malformed empty", game.o, "/move?g=\(game.key)&i=", 400),
                ("malformed missing", game.o, "/move?g=\(game.key)", 400),
                ("malformed fraction", game.o, "/move?g=\(game.key)&i=1.5", 400),
                ("malformed huge", game.o, "/move?g=\(game.key)&i=99999999999999999999999", 400),
                ("Int.max", game.o, "/move?g=\(game.key)&i=9223372036854775807", 400),
                ("Int.max + 1", game.o, "/move?g=\(game.key)&i=9223372036854775808", 400),
                ("Int.min", game.o, "/move?g=\(game.key)&i=-9223372036854775808", 400),
                ("signed", game.o, "/move?g=\(game.key)&i=%2B5", 400),
                ("minus zero", game.o, "/move?g=\(game.key)&i=-0", 400),
                ("hex", game.o, "/move?g=\(game.key)&i=0x5", 400),
                ("spaced", game.o, "/move?g=\(game.key)&i=%205", 400),
                ("full-width digit", game.o, "/move?g=\(game.key)&i=%EF%BC%95", 400),
                ("malformed, signed out", signedOut, "/move?g=\(game.key)&i=x", 400),
                ("unknown game", game.o, "/move?g=nope&i=0", 400),
            ]
            for (name, player, target, status) in cases {
                let response = try await player.post(target)
                #expect(response.status == status, "\(name)")
                #expect(try await server.storedGame(game.key) == before, "\(name) changed the game")
            }
        }
    }

    @Test func noMoveIsAcceptedAfterAWin() async throws {
        try await withTicTacToe { server in
            let game = try await StartedGame.start(port: server.port)
            try await game.play([0, 3, 1, 4, 2])
            let won = try #require(try await server.storedGame(game.key))
            #expect(won.winner == (try game.x.me))
            for (player, square) in [(game.o, 5), (game.x, 8), (game.o, 8)] {
                #expect(try await player.move(game.key, square).status == 409)
            }
            #expect(try await server.storedGame(game.key) == won)
        }
    }

    // MARK: Wins and draws

    /// X takes `line` while O plays elsewhere.
    static func xWins(_ line: [Int]) -> [Int] {
        let others = (0..<9).filter { !line.contains($0) }
        return [line[0], others[0], line[1], others[1], line[2]]
    }

    /// O takes `line` while X plays three squares off it that make no line.
    static func oWins(_ line: [Int]) -> [Int] {
        let others = (0..<9).filter { !line.contains($0) }
        var xSquares: [Int] = []
        search: for a in others { for b in others where b > a { for c in others where c > b {
            if !lines.contains(where: { Set($0) == Set([a, b, c]) }) { xSquares = [a, b, c]; break search }
        } } }
        return [xSquares[0], line[0], xSquares[1], line[1], xSquares[2], line[2]]
    }

    @Test(arguments: lines)
    func xWinsOnEveryLine(_ line: [Int]) async throws {
        try await checkWin(line: line, moves: Self.xWins(line), winnerIsX: true)
    }

    @Test(arguments: lines)
    func oWinsOnEveryLine(_ line: [Int]) async throws {
        try await checkWin(line: line, moves: Self.oWins(line), winnerIsX: false)
    }

    func checkWin(line: [Int], moves: [Int], winnerIsX: Bool) async throws {
        try await withTicTacToe { server in
            let game = try await StartedGame.start(port: server.port)
            let oChannel = try await game.o.openChannel(port: server.port)
            try await game.play(Array(moves.dropLast()))
            #expect(try await server.storedGame(game.key)?.winner == "", "no winner before the last move")
            let lastMover = (moves.count - 1) % 2 == 0 ? game.x : game.o
            #expect(try await lastMover.move(game.key, moves.last!).status == 200)
            let stored = try #require(try await server.storedGame(game.key))
            let piece: Character = winnerIsX ? "X" : "O"
            #expect(stored.winner == (winnerIsX ? try game.x.me : try game.o.me))
            #expect(stored.winningBoard == String((0..<9).map { line.contains($0) ? piece : "." }))
            var last = try await oChannel.nextState()
            while last.board != stored.board { last = try await oChannel.nextState() }
            #expect(last == stored.state, "O's page hears the win")
        }
    }

    @Test func aFullBoardWithNoWinnerIsADraw() async throws {
        try await withTicTacToe { server in
            let game = try await StartedGame.start(port: server.port)
            try await game.play([0, 1, 2, 4, 3, 5, 7, 6, 8])
            let stored = try #require(try await server.storedGame(game.key))
            #expect(stored.board == "XOXXOOOXX")
            #expect(stored.winner == "")
            #expect(stored.winningBoard == "")
            #expect(stored.isDraw)
            #expect(try await game.o.move(game.key, 0).status == 409)
        }
    }

    @Test func aWinOnTheLastSquareIsAWinNotADraw() async throws {
        try await withTicTacToe { server in
            let game = try await StartedGame.start(port: server.port)
            try await game.play([0, 1, 2, 4, 3, 5, 7, 8, 6])
            let stored = try #require(try await server.storedGame(game.key))
            #expect(stored.winner == (try game.x.me))
            #expect(stored.winningBoard == "X..X..X..")
            #expect(!stored.isDraw)
        }
    }

    // MARK: Transactions, tokens and restarts

    @Test func twoMovesAtOnceNeverBothApply() async throws {
        try await withTicTacToe(workers: 2) { server in
            let game = try await StartedGame.start(port: server.port)
            for round in 0..<10 {
                let before = try #require(try await server.storedGame(game.key))
                guard !before.isOver else { break }
                let mover = before.moveX ? game.x : game.o
                let free = Array(before.board.enumerated().filter { $0.element == " " }.map(\.offset).prefix(2))
                guard free.count == 2 else { break }
                // Two browsers of the player to move (two connections, on two loops) click two
                // squares at once.
                let second = try await Player.signedIn(mover.email, port: server.port)
                let key = game.key
                let statuses = await withTaskGroup(of: Int.self) { group in
                    for (player, square) in [(mover, free[0]), (second, free[1])] {
                        group.addTask { (try? await player.move(key, square).status) ?? 0 }
                    }
                    return await group.reduce(into: [Int]()) { $0.append($1) }
                }
                let after = try #require(try await server.storedGame(game.key))
                let placed = zip(before.board, after.board).filter { $0 != $1 }.count
                #expect(placed == 1, "round \(round): exactly one move applies")
                #expect(statuses.filter { $0 == 200 }.count == 1, "round \(round): \(statuses)")
                #expect(after.moveX != before.moveX)
            }
        }
    }

    @Test func aFreshTokenReopensTheChannel() async throws {
        try await withTicTacToe { server in
            let game = try await StartedGame.start(port: server.port)
            let token = try await game.o.post("/token?g=\(game.key)")
            #expect(token.status == 200)
            #expect(token.headers["Cache-Control"] == "no-store")
            #expect(token.text != (try game.o.token))
            let channel = try await GameChannel(port: server.port, token: token.text)
            _ = try await game.x.post("/opened?g=\(game.key)")
            #expect(try await channel.nextState().userO == (try game.o.me))
            #expect(try await Player("nobody", port: server.port).post("/token?g=\(game.key)").status == 401)
            #expect(try await game.o.post("/token?g=nope").status == 404)
        }
    }

    @Test func aRestartLosesNoGame() async throws {
        let first = try TicTacToeServer()
        defer { first.removeFiles() }
        let game = try await StartedGame.start(port: first.port)
        try await game.play([4, 0, 8])
        let before = try #require(try await first.storedGame(game.key))
        first.stop()

        let second = try TicTacToeServer(folder: first.folder)
        defer { second.stop() }
        #expect(try await second.storedGame(game.key) == before)
        // The same cookies still sign the players in, and the game goes on.
        let x = Player(game.x.email, port: second.port), o = Player(game.o.email, port: second.port)
        x.cookie = game.x.cookie
        o.cookie = game.o.cookie
        #expect(try await x.open("/?g=\(game.key)").status == 200)
        #expect(x.page.contains("\"board\":\"O   X   X\""))
        let xChannel = try await x.openChannel(port: second.port)
        #expect(try await o.move(game.key, 2).status == 200)
        #expect(try await xChannel.nextState().board == "O O X   X")
        // The page's token from before the restart still opens a channel (the secret is kept).
        let oChannel = try await GameChannel(port: second.port, token: try game.o.token)
        #expect(try await oChannel.nextState().board == "O O X   X", "held for O until it reconnected")
        #expect(try await x.move(game.key, 1).status == 200)
        #expect(try await oChannel.nextState().board == "OXO X   X")
    }

    @Test func theDatabaseFileIsCreatedWithItsSchemaOnFirstStart() async throws {
        let folder = NSTemporaryDirectory() + "tictactoe-\(UUID().uuidString)/nested"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try SQLiteGameStore(path: folder + "/games.sqlite")
        #expect(FileManager.default.fileExists(atPath: folder + "/games.sqlite"))
        try await store.save(Game(key: "k", userX: "1"))
        let reopened = try SQLiteGameStore(path: folder + "/games.sqlite")
        #expect(try await reopened.game(forKey: "k") == Game(key: "k", userX: "1"))
        #expect(try await reopened.game(forKey: "missing") == nil)
    }
}
