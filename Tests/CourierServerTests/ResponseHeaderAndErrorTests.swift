import CourierTesting
import Glibc
import Testing

extension HTTPServerTests {
    @Suite struct ResponseHeaderAndErrorTests {
        /// IMF-fixdate, RFC 9110 §5.6.7, formatted here by the C library as an independent check.
        private static func imfFixdate(_ seconds: Int) -> String {
            var time = time_t(seconds)
            var parts = tm()
            gmtime_r(&time, &parts)
            let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
            return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
                + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
        }

        private static func expectCurrentDate(_ value: String?, sentAround seconds: Int) {
            guard let value else {
                Issue.record("no Date header")
                return
            }
            #expect(value.wholeMatch(of: /(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT/) != nil,
                    "Date '\(value)' is not IMF-fixdate")
            let candidates = (seconds - 2...seconds + 2).map(imfFixdate)
            #expect(candidates.contains(value), "Date '\(value)' is not the current time (\(candidates[2]))")
        }

        @Test func everyResponseCarriesTheCurrentDate() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                client.send(request("/hello") + request("/stream") + request("/missing"))
                for _ in 0..<3 {
                    Self.expectCurrentDate(try client.readResponse().headers["Date"], sentAround: time(nil))
                }
                let rejected = try RawClient(port: server.port)
                rejected.send("GET /hello HTTP/1.1\r\n\r\n")
                let badRequest = try rejected.readResponse()
                #expect(badRequest.status == 400)
                Self.expectCurrentDate(badRequest.headers["Date"], sentAround: time(nil))
            }
        }

        @Test func thrownHTTPErrorGivesItsStatus() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                client.send(request("/missing"))
                let response = try client.readResponse()
                #expect(response.status == 404)
                #expect(response.reason == "Not Found")
                client.send(request("/hello"))
                #expect(try client.readResponse().text == "hello")
            }
        }

        @Test(arguments: ["/boom", "/boom-async"])
        func otherThrownErrorGivesPlain500WithoutItsText(path: String) async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                client.send(request(path))
                let response = try client.readResponse()
                #expect(response.status == 500)
                #expect(response.headers["Content-Type"]?.hasPrefix("text/plain") == true)
                #expect(!response.text.contains("hunter2"))
                #expect(!response.text.contains("DatabaseFailure"))
                #expect(!response.text.contains("connection refused"))
                #expect(response.text == "500 Internal Server Error\n")
                // The connection survives a failed handler.
                client.send(request("/hello"))
                #expect(try client.readResponse().text == "hello")
            }
        }
    }
}
