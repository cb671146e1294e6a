// HBEcho: the Hummingbird-websocket side of Benchmarks/websocket/run.sh.
//
//   HBEcho --port 8081 [--threads 1] [--deflate | --deflate-no-context-takeover]
//
// A WebSocket echo server at `/` on 127.0.0.1: every text or binary message
// comes straight back. One NIO event loop thread by default; no WebSocket
// extensions unless asked (`--deflate`: `.perMessageDeflate()` with its defaults,
// as hummingbird-websocket's docs show it; `--deflate-no-context-takeover`: the
// same with `noContextTakeover: true`, its lightest setting), Hummingbird-websocket's
// defaults otherwise (16 KiB max frame, auto-ping every 30 s).
import Foundation
import Hummingbird
import HummingbirdWebSocket
import HummingbirdWSCompression
import NIOCore
import NIOPosix

var port = 8081
var threads = 1
var extensions: [WebSocketExtensionFactory] = []
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--port": port = Int(args.popFirst() ?? "") ?? port
    case "--threads": threads = Int(args.popFirst() ?? "") ?? threads
    case "--deflate": extensions = [.perMessageDeflate()]
    case "--deflate-no-context-takeover": extensions = [.perMessageDeflate(noContextTakeover: true)]
    default:
        print("usage: HBEcho --port P [--threads N] [--deflate | --deflate-no-context-takeover]")
        exit(2)
    }
}

let elg = MultiThreadedEventLoopGroup(numberOfThreads: threads)

// Plain HTTP routes beside the upgrade (a GET / that is not an upgrade gets 404).
let router = Router()

let app = Application(
    router: router,
    server: .http1WebSocketUpgrade(configuration: .init(ws: .init(extensions: extensions))) { request, _, _ in
        guard request.path == "/" else { return .dontUpgrade }
        return .upgrade([:]) { inbound, outbound, _ in
            for try await message in inbound.messages(maxSize: 1 << 20) {
                switch message {
                case .text(let text): try await outbound.write(.text(text))
                case .binary(let bytes): try await outbound.write(.binary(bytes))
                }
            }
        }
    },
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "HBEcho"),
    eventLoopGroupProvider: .shared(elg)
)
try await app.runService()
