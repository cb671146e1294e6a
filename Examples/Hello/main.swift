import Courier
import Foundation

// The benchmark app: the TechEmpower plaintext and JSON routes and a body echo. `--metrics`
// adds `Metrics` (GET /metrics), so the benchmarks measure what turning metrics on costs.
struct Greeting: Encodable, Sendable {
    let message: String
}

let app = Application()
var arguments = Array(CommandLine.arguments.dropFirst())
if let flag = arguments.firstIndex(of: "--metrics") {
    arguments.remove(at: flag)
    app.use(Metrics(path: "/metrics"))
}

app.get("/plaintext") { _, response in
    response.contentType = "text/plain"
    response.write("Hello, World!")
}

app.get("/json") { _, response in
    try response.json(Greeting(message: "Hello, World!"))
}

app.post("/echo") { request, response in
    response.contentType = request.headers["Content-Type"] ?? "application/octet-stream"
    response.write(request.body)
}

do {
    try app.run(arguments: arguments)
} catch {
    print("Hello: \(error)")
    exit(1)
}
