/// Where games live. SQLite today (`SQLiteGameStore`); another backend implements these three
/// calls. Every call is safe from any loop or thread.
public protocol GameStore: Sendable {
    /// Stores `game`, replacing any game with its key (a user's new game replaces their last,
    /// as in the original, which keyed games by their creator).
    func save(_ game: Game) throws
    func game(forKey key: String) throws -> Game?
    /// Reads the game, lets `change` modify it, and writes it back, all in one transaction, so
    /// two changes at once never both apply to the same old state. Nothing is written when
    /// `change` throws. Returns nil (and calls nothing) when there is no such game.
    func update<Failure: Error>(key: String, _ change: (inout Game) throws(Failure) -> Void) throws -> Game?
}
