import ArgumentParser
import Courier
import CourierChannel
import CourierRedis
import Foundation
import TicTacToeApp

/// Channel Tac Toe: two players, one board, updated live over the Channel API.
///
/// The database is created with its schema on first start; the channel and session secrets
/// are kept in --data-dir (or COURIER_CHANNEL_SECRET / COURIER_SESSION_SECRET), so a restart
/// keeps every game, every sign-in and every open page's token.
struct TicTacToe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "TicTacToe",
        abstract: "Channel Tac Toe: two players, one board, updated live over the Channel API.",
        discussion: "Several nodes sharing --db and --data-dir, with --redis, serve the same players behind a load balancer.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var redis: RedisOptions

    @Option(help: ArgumentHelp("The SQLite file for the games (default: <data-dir>/tictactoe.sqlite, created on first start).",
                               valueName: "path"))
    var db: String?

    @Option(help: ArgumentHelp("Where the secrets are kept.", valueName: "dir"))
    var dataDir = "courier-data"

    func run() throws {
        let store = try SQLiteGameStore(path: db ?? "\(dataDir)/tictactoe.sqlite")
        let channels = try ChannelService(secretPath: "\(dataDir)/channel-secret", engine: try redis.engine)
        let users = try Users(secretPath: "\(dataDir)/session-secret")
        let app = try makeTicTacToe(store: store, channels: channels, users: users)
        try app.run(options: server)
    }
}

TicTacToe.main()
