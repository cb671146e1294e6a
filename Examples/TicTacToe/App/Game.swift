/// One game, as the original's datastore model had it.
public struct Game: Sendable, Equatable {
    public static let emptyBoard = "         "

    /// The creator's user ID (the original keyed a user's game by their ID).
    public var key: String
    public var userX: String
    /// "" until a second player joins.
    public var userO: String
    /// Nine characters, "X", "O" or " ", row by row.
    public var board: String
    /// True when X is to move.
    public var moveX: Bool
    /// The winner's user ID, or "".
    public var winner: String
    /// The winning line: the winner's piece on its three cells, "." elsewhere; "" before a win.
    public var winningBoard: String

    public init(key: String, userX: String, userO: String = "", board: String = Game.emptyBoard, moveX: Bool = true,
                winner: String = "", winningBoard: String = "") {
        self.key = key
        self.userX = userX
        self.userO = userO
        self.board = board
        self.moveX = moveX
        self.winner = winner
        self.winningBoard = winningBoard
    }

    /// A full board with no winner (beyond the original, which never said so).
    public var isDraw: Bool { winner.isEmpty && !board.contains(" ") }
    public var isOver: Bool { !winner.isEmpty || isDraw }

    /// The JSON both players receive after every change.
    public var state: GameState {
        GameState(board: board, userX: userX, userO: userO, moveX: moveX, winner: winner, winningBoard: winningBoard)
    }
}

/// The message of the original's `get_game_message`, key for key.
public struct GameState: Codable, Sendable, Equatable {
    public var board: String
    public var userX: String
    public var userO: String
    public var moveX: Bool
    public var winner: String
    public var winningBoard: String

    public init(board: String, userX: String, userO: String, moveX: Bool, winner: String, winningBoard: String) {
        self.board = board
        self.userX = userX
        self.userO = userO
        self.moveX = moveX
        self.winner = winner
        self.winningBoard = winningBoard
    }
}
