// HBHello: the Hummingbird side of Benchmarks/http/run.sh.
//
//   HBHello --port 8081 [--threads 1] [--nio-executor]
//
// Serves GET /plaintext ("Hello, World!", text/plain) and GET /json
// ({"message":"Hello, World!"}, application/json) on 127.0.0.1, with one
// NIO event loop thread by default. Handlers run as Swift tasks on the
// global concurrency executor (Hummingbird's default); --nio-executor
// installs the NIO event loop group as the global executor instead.
import Foundation
import Hummingbird
import NIOCore
import NIOPosix

var port = 8081
var threads = 1
var nioExecutor = false
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--port": port = Int(args.popFirst() ?? "") ?? port
    case "--threads": threads = Int(args.popFirst() ?? "") ?? threads
    case "--nio-executor": nioExecutor = true
    default:
        print("usage: HBHello --port P [--threads N] [--nio-executor]")
        exit(2)
    }
}

struct Message: ResponseEncodable {
    let message: String
}

let plaintextBody = ByteBuffer(string: "Hello, World!")

let elg: MultiThreadedEventLoopGroup
if nioExecutor {
    NIOSingletons.groupLoopCountSuggestion = threads
    guard NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() else {
        fatalError("could not install the NIO event loop group as the global executor")
    }
    elg = MultiThreadedEventLoopGroup.singleton
} else {
    elg = MultiThreadedEventLoopGroup(numberOfThreads: threads)
}

let router = Router()
router.get("plaintext") { _, _ -> Response in
    Response(
        status: .ok,
        headers: [.contentType: "text/plain"],
        body: .init(byteBuffer: plaintextBody)
    )
}
router.get("json") { _, _ in
    Message(message: "Hello, World!")
}

let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "HBHello"),
    eventLoopGroupProvider: .shared(elg)
)
try await app.runService()
