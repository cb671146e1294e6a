import Courier
import CourierChannel
import Foundation
import CourierRedis
import TicTacToeApp

// Channel Tac Toe: two players, one board, updated live over the Channel API.
//
//     TicTacToe [--port 8080] [--workers N] [--db courier-data/tictactoe.sqlite] [--data-dir courier-data]
//
// The database is created with its schema on first start; the channel and session secrets
// are kept in --data-dir (or COURIER_CHANNEL_SECRET / COURIER_SESSION_SECRET), so a restart
// keeps every game, every sign-in and every open page's token.

let options = CommandLineOptions()
if CommandLine.arguments.contains("--help") {
    print("""
    usage: TicTacToe [--port 8080] [--workers N] [--busy-poll-us N] [--reuse-port] [--redis URL] [--db PATH] [--data-dir DIR]
      --redis URL      keep the channels in Redis (or $REDIS_URL), so several nodes sharing --db and
                       --data-dir serve the same players behind a load balancer
      --busy-poll-us N keep each loop polling for N µs after a read instead of sleeping (default 0, off)
      --reuse-port     share the port with other processes that ask for it too (SO_REUSEPORT);
                       without it a port already in use fails the start
      --db PATH        SQLite file for the games (default DIR/tictactoe.sqlite, created on first start)
      --data-dir DIR   where secrets are kept (default courier-data)
    """)
    exit(0)
}
let dataDirectory = options.value("data-dir") ?? "courier-data"
let store = try SQLiteGameStore(path: options.value("db") ?? "\(dataDirectory)/tictactoe.sqlite")
let channels = try ChannelService(secretPath: "\(dataDirectory)/channel-secret", engine: try .fromCommandLine(options))
let users = try Users(secretPath: "\(dataDirectory)/session-secret")
let app = try makeTicTacToe(store: store, channels: channels, users: users)
try app.run()
