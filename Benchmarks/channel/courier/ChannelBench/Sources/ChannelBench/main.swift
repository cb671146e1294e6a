// ChannelBench: Courier's side of Benchmarks/channel/run.sh.
//
//   ChannelBench --port 18190 --workers 1 [--host 127.0.0.1]
//
// `Channels(service)` (WebSocket transport at /_ah/channel/ws, docs/channel-protocol.md), and:
//   POST /token?c=ID             -> the token from createChannel (text/plain)
//   POST /send?c=ID              body = message -> sendMessage, 204
//   POST /subscribe?c=ID&t=TOPIC -> subscribe, 204
//   POST /publish?t=TOPIC        body = message -> publish, the subscriber count (text/plain)
// A fixed secret: the benchmark needs no tokens to survive anything.
//
// `--mount-only` (a diagnostic, not what run.sh measures): mount the channel routes without
// installing `Channels` as middleware. Its `handle` is async, so with it every request runs
// as a task on the loop's executor; without it these synchronous handlers run inline.
import Courier
import CourierChannel
#if canImport(Glibc)
import Glibc
#endif

let channels = ChannelService(secret: Array("courier-channel-benchmark-secret".utf8))
let app = Application()
if CommandLine.arguments.contains("--mount-only") {
    try Channels(channels).mount(on: app)
} else {
    app.use(Channels(channels))
}

app.post("/token") { request, response in
    response.contentType = "text/plain"
    response.write(try channels.createChannel(clientID: request["c"]))
}

app.post("/send", maxBodyBytes: 32 * 1024) { request, response in
    try channels.sendMessage(clientID: request["c"], message: request.bodyText)
    response.status = .noContent
}

app.post("/subscribe") { request, response in
    try channels.subscribe(clientID: request["c"], topic: request["t"])
    response.status = .noContent
}

app.post("/publish", maxBodyBytes: 32 * 1024) { request, response in
    let subscribers = try channels.publish(topic: request["t"], message: request.bodyText)
    response.contentType = "text/plain"
    response.write(String(subscribers))
}

// The server's options (ServerOptions), less this program's own flag.
var arguments = CommandLine.arguments.dropFirst().filter { $0 != "--mount-only" }
if !arguments.contains(where: { $0 == "--host" || $0.hasPrefix("--host=") }) { arguments += ["--host", "127.0.0.1"] }
do {
    try app.run(arguments: arguments)
} catch {
    print("ChannelBench: \(error)")
    exit(1)
}
