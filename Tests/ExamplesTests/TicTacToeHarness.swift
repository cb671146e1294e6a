import Courier
import CourierChannel
import CourierTesting
import Foundation
import TicTacToeApp

/// A TicTacToe server on a free loopback port over an SQLite file in a fresh folder.
final class TicTacToeServer: Sendable {
    let folder: String
    let databasePath: String
    let store: SQLiteGameStore
    let channels: ChannelService
    let server: HTTPServer
    var port: Int { server.port }

    static let channelSecret: [UInt8] = Array(0..<32)
    static let sessionSecret: [UInt8] = Array(32..<64)

    init(folder: String? = nil, workers: Int = 1) throws {
        let folder = folder ?? NSTemporaryDirectory() + "tictactoe-\(UUID().uuidString)"
        self.folder = folder
        databasePath = folder + "/games.sqlite"
        store = try SQLiteGameStore(path: databasePath)
        channels = ChannelService(secret: Self.channelSecret)
        let app = try makeTicTacToe(store: store, channels: channels, users: Users(secret: Self.sessionSecret))
        server = try app.start(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, workers: workers,
                                                                  handlesSignals: false))
    }

    func stop() {
        server.shutdown()
        server.waitUntilStopped()
    }

    func removeFiles() { try? FileManager.default.removeItem(atPath: folder) }

    func storedGame(_ key: String) async throws -> Game? { try await store.game(forKey: key) }
}

/// Runs `body` against a fresh server and removes its files afterwards.
func withTicTacToe(workers: Int = 1, _ body: (TicTacToeServer) async throws -> Void) async throws {
    let server = try TicTacToeServer(workers: workers)
    defer {
        server.stop()
        server.removeFiles()
    }
    try await body(server)
}

/// One browser: its own connection and its own cookie.
final class Player: @unchecked Sendable {
    let email: String
    let http: TestClient
    var cookie = ""
    /// From the last game page loaded.
    var page = ""

    init(_ email: String, port: Int) {
        self.email = email
        http = TestClient(port: port)
    }

    /// Signs in through the login form and returns the player.
    static func signedIn(_ email: String, port: Int) async throws -> Player {
        let player = Player(email, port: port)
        let response = try await player.http.post("/_ah/login", form: [("email", email), ("continue", "/")])
        guard response.status == 302, let setCookie = response.headers["Set-Cookie"],
              let pair = setCookie.split(separator: ";").first else {
            throw HarnessFailure("sign-in as \(email) answered \(response.status): \(response.text)")
        }
        player.cookie = String(pair)
        return player
    }

    var headers: HTTPHeaders {
        var headers = HTTPHeaders()
        if !cookie.isEmpty { headers.add("Cookie", cookie) }
        return headers
    }

    func get(_ target: String) async throws -> TestResponse { try await http.get(target, headers: headers) }
    func post(_ target: String) async throws -> TestResponse { try await http.post(target, headers: headers) }

    /// A POST as a page sends it from a browser, which names the page's site in `Origin`.
    func post(_ target: String, origin: String) async throws -> TestResponse {
        var headers = headers
        headers.add("Origin", origin)
        return try await http.post(target, headers: headers)
    }

    /// Loads the game page (`/` for a new game) and remembers it.
    @discardableResult
    func open(_ target: String = "/") async throws -> TestResponse {
        let response = try await get(target)
        if response.status == 200 { page = response.text }
        return response
    }

    func move(_ key: String, _ square: Int) async throws -> TestResponse {
        try await post("/move?g=\(key)&i=\(square)")
    }

    /// A JavaScript value the page embeds, such as `var state = {game_key: "…", me: "…"}`.
    func pageValue(after marker: String) throws -> String {
        guard let start = page.range(of: marker, options: .backwards) else { throw HarnessFailure("no \(marker) in the page") }
        let rest = page[start.upperBound...]
        guard rest.first == "\"", let end = rest.dropFirst().firstIndex(of: "\"") else {
            throw HarnessFailure("no string after \(marker)")
        }
        return String(rest[rest.index(after: rest.startIndex)..<end])
    }

    var me: String { get throws { try pageValue(after: "me: ") } }
    var gameKey: String { get throws { try pageValue(after: "game_key: ") } }
    var token: String { get throws { try pageValue(after: "openChannel(") } }

    /// Opens this page's channel over the WebSocket transport.
    func openChannel(port: Int) async throws -> GameChannel {
        try await GameChannel(port: port, token: token)
    }
}

/// A Tic Tac Toe page's channel: the states it receives.
typealias GameChannel = PageChannel

extension PageChannel {
    /// The next game state pushed to this page.
    func nextState() async throws -> GameState { try await nextMessage(as: GameState.self) }
}

struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// X and O signed in, X's game created and O joined; both pages loaded.
struct StartedGame {
    let x: Player
    let o: Player
    let key: String

    static func start(port: Int, x: String = "x@example.com", o: String = "o@example.com") async throws -> StartedGame {
        let playerX = try await Player.signedIn(x, port: port)
        let playerO = try await Player.signedIn(o, port: port)
        guard try await playerX.open().status == 200 else { throw HarnessFailure("X could not create a game") }
        let key = try playerX.gameKey
        guard try await playerO.open("/?g=\(key)").status == 200 else { throw HarnessFailure("O could not join") }
        return StartedGame(x: playerX, o: playerO, key: key)
    }

    /// Plays `squares` alternately, X first, each expected to be accepted.
    func play(_ squares: [Int]) async throws {
        for (index, square) in squares.enumerated() {
            let response = try await (index % 2 == 0 ? x : o).move(key, square)
            guard response.status == 200 else {
                throw HarnessFailure("move \(index) at \(square) answered \(response.status): \(response.text)")
            }
        }
    }
}
