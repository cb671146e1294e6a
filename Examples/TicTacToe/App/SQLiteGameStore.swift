import Courier
import Foundation
import GRDB

/// Games in one SQLite file through GRDB. Writes take SQLite's write lock at `BEGIN IMMEDIATE`,
/// so a move is read, checked and written while no other connection (in this process or
/// another) can write the same game.
///
/// GRDB's calls block (up to the 5 s busy timeout while another process holds the database):
/// they run on the store's own threads (`BlockingPool`), never on a loop.
public final class SQLiteGameStore: GameStore {
    let database: DatabaseQueue
    let pool: BlockingPool

    /// Opens (and on first start creates, with its schema) the database at `path`. `threads`:
    /// how many calls may wait on SQLite at once (one `DatabaseQueue` serialises them anyway;
    /// the others queue in the pool rather than on a loop).
    public init(path: String, threads: Int = 2) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        database = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
        pool = BlockingPool(threads: threads)
    }

    deinit { pool.shutdown() }

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

    public func save(_ game: Game) async throws {
        let database = database
        try await pool.run { try database.write { db in try GameRecord(game).save(db) } }
    }

    public func game(forKey key: String) async throws -> Game? {
        let database = database
        return try await pool.run { try database.read { db in try GameRecord.fetchOne(db, key: key)?.game } }
    }

    public func update<T: Sendable>(key: String, _ change: @escaping @Sendable (inout Game) throws -> T) async throws -> (game: Game, result: T)? {
        let database = database
        return try await pool.run {
            var changed: (game: Game, result: T)?
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    guard var game = try GameRecord.fetchOne(db, key: key)?.game else { return .commit }
                    let result = try change(&game)
                    try GameRecord(game).update(db)
                    changed = (game, result)
                    return .commit
                }
            }
            return changed
        }
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
