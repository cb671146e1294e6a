import Foundation
import GRDB

/// Games in one SQLite file through GRDB. Writes take SQLite's write lock at `BEGIN IMMEDIATE`,
/// so a move is read, checked and written while no other connection (in this process or
/// another) can write the same game.
public final class SQLiteGameStore: GameStore {
    let database: DatabaseQueue

    /// Opens (and on first start creates, with its schema) the database at `path`.
    public init(path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        database = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("create game") { db in
            try db.create(table: "game") { table in
                table.primaryKey("key", .text)
                table.column("userX", .text).notNull()
                table.column("userO", .text).notNull().defaults(to: "")
                table.column("board", .text).notNull()
                table.column("moveX", .boolean).notNull()
                table.column("winner", .text).notNull().defaults(to: "")
                table.column("winningBoard", .text).notNull().defaults(to: "")
            }
        }
        return migrator
    }

    public func save(_ game: Game) throws {
        try database.write { db in try GameRecord(game).save(db) }
    }

    public func game(forKey key: String) throws -> Game? {
        try database.read { db in try GameRecord.fetchOne(db, key: key)?.game }
    }

    public func update<Failure: Error>(key: String, _ change: (inout Game) throws(Failure) -> Void) throws -> Game? {
        var changed: Game?
        try database.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                guard var game = try GameRecord.fetchOne(db, key: key)?.game else { return .commit }
                try change(&game)
                try GameRecord(game).update(db)
                changed = game
                return .commit
            }
        }
        return changed
    }
}

/// The row; kept apart from `Game` so the model knows nothing of GRDB.
struct GameRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "game"
    var key: String
    var userX: String
    var userO: String
    var board: String
    var moveX: Bool
    var winner: String
    var winningBoard: String

    init(_ game: Game) {
        key = game.key
        userX = game.userX
        userO = game.userO
        board = game.board
        moveX = game.moveX
        winner = game.winner
        winningBoard = game.winningBoard
    }

    var game: Game {
        Game(key: key, userX: userX, userO: userO, board: board, moveX: moveX, winner: winner, winningBoard: winningBoard)
    }
}
