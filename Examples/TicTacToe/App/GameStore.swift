/// Where games live. SQLite today (`SQLiteGameStore`); another backend implements these three
/// calls. Every call is safe from any loop or thread, and none blocks its caller's loop: a
/// store whose I/O blocks (SQLite waiting on a lock another process holds) does it on threads
/// of its own, so the loop serves its other connections meanwhile.
public protocol GameStore: Sendable {
    /// Stores `game`, replacing any game with its key (a user's new game replaces their last,
    /// as in the original, which keyed games by their creator).
    func save(_ game: Game) async throws
    func game(forKey key: String) async throws -> Game?
    /// Reads the game, lets `change` modify it, and writes it back, all in one transaction, so
    /// two changes at once never both apply to the same old state. Nothing is written when
    /// `change` throws (its error is rethrown as it is). Returns the game as written and what
    /// `change` returned, or nil (and calls nothing) when there is no such game.
    func update<T: Sendable>(key: String, _ change: @escaping @Sendable (inout Game) throws -> T) async throws -> (game: Game, result: T)?
}
