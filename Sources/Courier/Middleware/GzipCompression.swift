import CourierHTTP

/// Compresses dynamic responses with gzip when it pays: a text body (HTML, CSS, JavaScript,
/// JSON, XML, SVG) of at least `minimumBytes`, to a client whose Accept-Encoding takes gzip.
/// Off unless added (`app.use(GzipCompression())`): it costs CPU on the loop for every such
/// response, and behind a proxy that compresses already it only wastes that.
///
/// It leaves alone what it must: a response that already has a Content-Encoding (a static
/// file's precompressed sibling), a status other than 200 (a 206 range is of the uncompressed
/// bytes), a streamed body, and a Cache-Control with `no-transform`. A compressed answer says
/// `Vary: Accept-Encoding` (so does an uncompressed answer that could have been, so a cache keeps
/// both), loses `Accept-Ranges` (ranges would be of the compressed bytes, which change with zlib),
/// and has its ETag made weak: the bytes differ from the identity answer's, the resource does not.
/// HEAD is answered as GET would be, so its Content-Length is the compressed one.
public struct GzipCompression: Middleware {
    /// Bodies shorter than this are sent as they are: below about a kilobyte the gzip header and
    /// a packet's worth of savings are not worth the CPU.
    public var minimumBytes: Int
    /// zlib's level, 1 (fastest) to 9 (smallest); 6 by default, zlib's own choice.
    public var level: Int

    /// Compresses text bodies of at least `minimumBytes` at `level`.
    public init(minimumBytes: Int = 1024, level: Int = 6) {
        self.minimumBytes = minimumBytes
        self.level = level
    }

    /// Runs the rest of the chain, then compresses its answer when it is eligible and accepted.
    public func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        try await next(request, &response)
        guard response.status == .ok, response.bodyStream == nil, response.body.count >= minimumBytes,
              response.headers["Content-Encoding"] == nil,
              // No Content-Type yet is HTML: the type the responder gives a body without one.
              Self.isCompressible(response.contentType ?? "text/html"),
              !response.headers.containsToken("no-transform", in: "Cache-Control") else { return }
        Self.addVary(&response.headers)
        guard AcceptEncoding(request.headers.values("Accept-Encoding")).preferred(among: ["gzip"]) == "gzip" else { return }
        response.body = Gzip.compress(response.body, level: level)
        response.headers.set("Content-Encoding", "gzip")
        response.headers.remove("Accept-Ranges")
        if let etag = response.headers["ETag"], etag.hasPrefix("\"") { response.headers.set("ETag", "W/" + etag) }
    }

    /// Text, which compresses several times over; images, video, fonts and archives are
    /// compressed already.
    static func isCompressible(_ contentType: String) -> Bool {
        let type = contentType.split(separator: ";", maxSplits: 1).first.map { $0.lowercased() } ?? ""
        let trimmed = type.trimmingCharacters(in: " \t")
        if trimmed.hasPrefix("text/") { return true }
        if trimmed.hasSuffix("+json") || trimmed.hasSuffix("+xml") { return true }
        return ["application/json", "application/javascript", "application/xml", "application/x-javascript",
                "image/svg+xml", "application/wasm", "application/manifest+json"].contains(trimmed)
    }

    private static func addVary(_ headers: inout HTTPHeaders) {
        guard !headers.containsToken("Accept-Encoding", in: "Vary"), !headers.containsToken("*", in: "Vary") else { return }
        if let vary = headers["Vary"], !vary.isEmpty {
            headers.set("Vary", vary + ", Accept-Encoding")
        } else {
            headers.set("Vary", "Accept-Encoding")
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
