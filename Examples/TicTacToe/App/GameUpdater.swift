public import CourierChannel
import Foundation

/// Why a move was refused; the game is left exactly as it was.
public enum MoveRejection: Error, Equatable, Sendable {
    case notAPlayer, notYourTurn, outOfRange, occupied, gameOver

    public var message: String {
        switch self {
        case .notAPlayer: "You are not a player in this game."
        case .notYourTurn: "It is not your turn."
        case .outOfRange: "A move is a square from 0 to 8."
        case .occupied: "That square is taken."
        case .gameOver: "The game is over."
        }
    }
}

/// The original's GameUpdater: validates a move, checks for a win, and tells both players.
public struct GameUpdater: Sendable {
    /// The eight lines, as the cell indexes of each.
    static let lines = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]]

    public let channels: ChannelService

    public init(channels: ChannelService) { self.channels = channels }

    /// Applies `user`'s move at `position` to `game`, or throws and leaves it untouched.
    public static func makeMove(_ game: inout Game, position: Int, user: String) throws(MoveRejection) {
        guard (0...8).contains(position) else { throw .outOfRange }
        guard !user.isEmpty, user == game.userX || user == game.userO else { throw .notAPlayer }
        guard !game.isOver else { throw .gameOver }
        // As the original: X may move before O has joined (the page hides the board until then).
        guard game.moveX == (user == game.userX) else { throw .notYourTurn }
        var cells = Array(game.board)
        guard cells.count == 9, cells[position] == " " else { throw .occupied }
        let piece: Character = game.moveX ? "X" : "O"
        cells[position] = piece
        game.board = String(cells)
        game.moveX.toggle()
        checkWin(&game, piece: piece, mover: user)
    }

    /// Only the mover can have just won, so only their eight lines are checked.
    static func checkWin(_ game: inout Game, piece: Character, mover: String) {
        let cells = Array(game.board)
        for line in lines where line.allSatisfy({ cells[$0] == piece }) {
            game.winner = mover
            game.winningBoard = String((0..<9).map { line.contains($0) ? piece : "." })
            return
        }
    }

    /// The client ID of `user`'s channel for `game`: user ID + game key, as in the original.
    public static func clientID(user: String, game: Game) -> String { user + game.key }

    /// Sends the state to both players (to X alone before O joins).
    public func sendUpdate(_ game: Game) throws {
        let message = String(decoding: try JSONEncoder().encode(game.state), as: UTF8.self)
        for user in [game.userX, game.userO] where !user.isEmpty {
            try channels.sendMessage(clientID: Self.clientID(user: user, game: game), message: message)
        }
    }
}
