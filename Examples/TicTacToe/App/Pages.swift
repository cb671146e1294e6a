import Courier
import CourierChannel
import Foundation
import Mustache

/// `GET /`: the original MainPage. Signs the visitor in first; with no `g` starts a new game
/// with them as X; with `g` lets a second user join as O; then renders the board with a token.
struct MainPage: GetHandler {
    let store: any GameStore
    let updater: GameUpdater
    let page: GamePage

    func get(_ request: Request, _ response: inout Response) async throws {
        guard let user = request.user else {
            response.redirect(to: Users.loginURL(continue: request.url))
            return
        }
        var gameKey = request["g"]
        let game: Game
        if gameKey.isEmpty {
            gameKey = user.id
            game = Game(key: gameKey, userX: user.id)
            try await store.save(game)
        } else {
            let userID = user.id
            guard let (found, joined) = try await store.update(key: gameKey, { game in
                guard game.userO.isEmpty, game.userX != userID else { return false }
                game.userO = userID
                return true
            }) else { throw HTTPError(.notFound, "No such game") }
            game = found
            // X's page is waiting for an opponent: show it the board now.
            if joined { try updater.sendUpdate(game) }
        }
        let token = try updater.channels.createChannel(clientID: GameUpdater.clientID(user: user.id, game: game))
        response.contentType = "text/html; charset=utf-8"
        response.write(try page.render(game: game, me: user.id, token: token,
                                       gameLink: "\(request.baseURL)/?g=\(URLEncoding.encode(game.key))",
                                       logoutLink: Users.logoutURL(continue: "/")))
    }
}

/// `POST /opened?g=KEY`: a player's page opened its channel; resend the state to both players.
/// Only a player may ask (as the original's required user): each request pushes a message into
/// both players' channels, and a stranger sending them by the thousand would push a player's
/// unread ones out of the recovery window.
struct OpenedPage: PostHandler {
    let store: any GameStore
    let updater: GameUpdater

    func post(_ request: Request, _ response: inout Response) async throws {
        guard let user = request.user else { throw HTTPError(.unauthorized, "Sign in to play.") }
        guard let game = try await store.game(forKey: request["g"]) else { throw HTTPError(.badRequest, "No such game") }
        guard user.id == game.userX || user.id == game.userO else {
            throw HTTPError(.forbidden, MoveRejection.notAPlayer.message)
        }
        try updater.sendUpdate(game)
        response.status = .noContent
    }
}

/// `POST /move?g=KEY&i=N`: the original MovePage. A refused move changes nothing and says why.
struct MovePage: PostHandler {
    let store: any GameStore
    let updater: GameUpdater

    func post(_ request: Request, _ response: inout Response) async throws {
        // A malformed move is 400 whoever sends it (section 6), then the caller must be signed in.
        let text = request["i"]
        guard text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let position = Int(text) else {
            throw HTTPError(.badRequest, "A move is a square from 0 to 8.")
        }
        guard let user = request.user else { throw HTTPError(.unauthorized, "Sign in to play.") }
        let game: Game
        do {
            let userID = user.id
            guard let moved = try await store.update(key: request["g"], { (game: inout Game) throws in
                try GameUpdater.makeMove(&game, position: position, user: userID)
            }) else { throw HTTPError(.badRequest, "No such game") }
            game = moved.game
        } catch let rejection as MoveRejection {
            throw HTTPError(Self.status(for: rejection), rejection.message)
        }
        try updater.sendUpdate(game)
        try response.json(game.state)
    }

    static func status(for rejection: MoveRejection) -> HTTPStatus {
        switch rejection {
        case .outOfRange: .badRequest
        case .notAPlayer: .forbidden
        case .notYourTurn, .occupied, .gameOver: .conflict
        }
    }
}

/// `POST /token?g=KEY` (beyond the original): a fresh token for the caller's channel, which the
/// page asks for after `onclose` (token expired, server restarted) so a long game never freezes.
struct TokenPage: PostHandler {
    let store: any GameStore
    let channels: ChannelService

    func post(_ request: Request, _ response: inout Response) async throws {
        guard let user = request.user else { throw HTTPError(.unauthorized, "Sign in to play.") }
        guard let game = try await store.game(forKey: request["g"]) else { throw HTTPError(.notFound, "No such game") }
        response.contentType = "text/plain; charset=utf-8"
        response.headers.set("Cache-Control", "no-store")
        response.write(try channels.createChannel(clientID: GameUpdater.clientID(user: user.id, game: game)))
    }
}
