import Courier
import Foundation

// The smallest app on Courier as a dependency: one route with a parameter, one JSON answer.
struct Greeting: Encodable, Sendable {
    let hello: String
}

let app = Application()
app.get("/hello/<name>") { request, response in
    try response.json(Greeting(hello: request.parameters["name"] ?? ""))
}

do {
    try app.run()
} catch {
    FileHandle.standardError.write(Data("Consumer: \(error)\n".utf8))
    exit(1)
}
