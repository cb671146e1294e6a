import CourierHTTP
#if canImport(Glibc)
import Glibc
#endif

extension Application {
    /// Serves the files under `directory` at GET (and HEAD) `prefix/<path>`, as a browser expects
    /// of a static file server: validators, ranges and precompressed siblings.
    ///
    ///     app.serveFiles(at: "/static", from: "public", cacheControl: "public, max-age=3600", precompressed: true)
    ///
    /// A file is read with POSIX `open`/`pread`, right on the connection's loop: static assets
    /// (scripts, styles, icons) are small and, after the first request, in the page cache, where
    /// reading one costs microseconds, less than a hop to a thread pool and back. That only holds
    /// for small reads, so an answer over `maxFileBytes` (16 MiB by default) is never read: it is
    /// a plain 500 and the log names the file. A range of a larger file is served when the range
    /// itself is within the limit (a player seeking in a long video). Serve big files whole from
    /// a CDN or a file server in front of the app.
    ///
    /// - Validators: a strong ETag (inode, size and modification time) and Last-Modified;
    ///   If-None-Match (or, without it, If-Modified-Since) answers a bodiless 304 while the file
    ///   is unchanged. `cacheControl` is sent on every answer (`no-cache` by default: browsers
    ///   revalidate each time, cheaply).
    /// - Ranges (RFC 9110 §14): `Accept-Ranges: bytes`; one range, or several that merge into
    ///   one, answers 206 with Content-Range; several disjoint ranges answer 200 with the whole
    ///   file (see `ByteRanges`); none that fits answers 416 with `Content-Range: bytes */size`.
    ///   If-Range (an ETag, strongly compared, or the exact Last-Modified date) keeps a resumed
    ///   download from splicing two versions: when it does not match, the whole file is sent.
    /// - `precompressed`: for `app.js`, the siblings `app.js.br` and `app.js.gz` made at build
    ///   time are sent instead when the client's Accept-Encoding takes them (q-values honoured,
    ///   `q=0` refuses), with Content-Encoding, the original's Content-Type, and
    ///   `Vary: Accept-Encoding` on every answer of the mount. Ranges and validators then apply
    ///   to the compressed file. Off by default (as nginx's `gzip_static`): it costs a look for
    ///   the siblings on each request.
    ///
    /// A missing file, a directory, a `..` segment, a NUL byte, and a path whose real location
    /// (symlinks resolved, siblings too) is outside `directory` all answer the same 404, so probing
    /// learns nothing about what lies outside. A missing `directory` is a build error.
    public func serveFiles(at prefix: String, from directory: String, maxFileBytes: Int = 16 << 20,
                           cacheControl: String = "no-cache", precompressed: Bool = false) {
        let files: StaticFiles
        do {
            files = try StaticFiles(directory: directory, maxFileBytes: maxFileBytes, cacheControl: cacheControl,
                                    precompressed: precompressed)
        } catch {
            reportBuildError(ApplicationError("serveFiles(at: '\(prefix)'): \(error)"))
            return
        }
        let base = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        get("\(base)/<path:.+>") { request, response in
            try files.respond(to: request, &response)
        }
    }
}

/// One served directory, its real path fixed when the route is added.
struct StaticFiles: Sendable {
    let root: String
    let maxFileBytes: Int
    let cacheControl: String
    let precompressed: Bool

    /// The siblings looked for with `precompressed`, in the server's order of preference.
    private static let siblings = [(coding: "br", suffix: ".br"), (coding: "gzip", suffix: ".gz")]

    init(directory: String, maxFileBytes: Int, cacheControl: String, precompressed: Bool) throws(ApplicationError) {
        guard let root = Self.realPath(directory) else {
            throw ApplicationError("cannot open directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard stat(root, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw ApplicationError("'\(directory)' is not a directory")
        }
        guard !cacheControl.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw ApplicationError("cacheControl '\(cacheControl)' holds a control character")
        }
        self.root = root
        self.maxFileBytes = maxFileBytes
        self.cacheControl = cacheControl
        self.precompressed = precompressed
    }

    func respond(to request: Request, _ response: inout Response) throws {
        let relative = request.parameters["path"] ?? ""
        guard let original = open(relative) else { throw HTTPError(.notFound) }
        response.headers.set("Cache-Control", cacheControl)
        var file = original
        if precompressed {
            response.headers.set("Vary", "Accept-Encoding")
            if let (coding, sibling) = chooseSibling(of: relative, request.headers.values("Accept-Encoding")) {
                file = sibling
                response.headers.set("Content-Encoding", coding)
            }
        }
        response.headers.set("ETag", file.etag)
        response.headers.set("Last-Modified", HTTPDate.format(secondsSince1970: file.modifiedSeconds))
        response.headers.set("Accept-Ranges", "bytes")
        if Self.isFresh(file, request.headers) {
            response.status = .notModified
            return
        }
        var selection = RangeSelection.whole
        let ranges = request.headers.values("Range")
        if ranges.count == 1, Self.ifRangeHolds(request.headers.values("If-Range"), file) {
            selection = ByteRanges.select(ranges[0], length: file.size)
        }
        switch selection {
        case .unsatisfiable:
            response.status = .rangeNotSatisfiable
            response.headers.set("Content-Range", ByteRanges.unsatisfiedRange(length: file.size))
        case .partial(let range):
            response.status = .partialContent
            response.headers.set("Content-Range", ByteRanges.contentRange(range, length: file.size))
            response.contentType = Self.contentType(for: relative)
            response.body = try file.read(range, limit: maxFileBytes)
        case .whole:
            response.contentType = Self.contentType(for: relative)
            response.body = try file.read(0..<file.size, limit: maxFileBytes)
        }
    }

    /// The open regular file at `relative`, or nil when it is missing or may not be reached.
    private func open(_ relative: String) -> OpenFile? {
        resolve(relative).flatMap(OpenFile.init)
    }

    /// The sibling the client takes best, if one exists and the client does not weigh identity
    /// above it.
    private func chooseSibling(of relative: String, _ acceptFields: [String]) -> (String, OpenFile)? {
        let accept = AcceptEncoding(acceptFields)
        var found: [(coding: String, file: OpenFile)] = []
        for sibling in Self.siblings where accept.weight(of: sibling.coding) > 0 {
            if let file = open(relative + sibling.suffix) { found.append((sibling.coding, file)) }
        }
        guard let coding = accept.preferred(among: found.map(\.coding)),
              let chosen = found.first(where: { $0.coding == coding }) else { return nil }
        return (coding, chosen.file)
    }

    /// Whether the client's copy is current (RFC 9110 §13.2.2): If-None-Match when sent (weak
    /// comparison, `W/` ignored), else If-Modified-Since (a date that does not parse, or a list
    /// of them, is ignored).
    private static func isFresh(_ file: OpenFile, _ headers: HTTPHeaders) -> Bool {
        let noneMatch = headers.values("If-None-Match")
        if !noneMatch.isEmpty {
            for header in noneMatch {
                for candidate in header.split(separator: ",") {
                    var tag = candidate.filter { $0 != " " && $0 != "\t" }
                    if tag == "*" { return true }
                    if tag.hasPrefix("W/") { tag.removeFirst(2) }
                    if tag == file.etag { return true }
                }
            }
            return false
        }
        let since = headers.values("If-Modified-Since")
        guard since.count == 1, let date = HTTPDate.parse(since[0]) else { return false }
        return file.modifiedSeconds <= date
    }

    /// Whether a Range may be honoured (RFC 9110 §13.1.5): with no If-Range, yes; with one, only
    /// when it names this very file: its ETag (strong comparison, so never a `W/` tag) or its
    /// Last-Modified date exactly.
    private static func ifRangeHolds(_ fields: [String], _ file: OpenFile) -> Bool {
        guard !fields.isEmpty else { return true }
        guard fields.count == 1 else { return false }
        let value = Substring(fields[0]).trimmingCharacters
        if value.hasPrefix("\"") { return value == file.etag }
        if value.hasPrefix("W/") { return false }
        return HTTPDate.parse(String(value)) == file.modifiedSeconds
    }

    /// The file's real path, or nil when the request may not reach it.
    private func resolve(_ relative: String) -> String? {
        guard !relative.utf8.contains(0),
              !relative.split(separator: "/", omittingEmptySubsequences: false).contains("..") else { return nil }
        guard let real = Self.realPath(root + "/" + relative) else { return nil }
        return real.hasPrefix(root == "/" ? "/" : root + "/") ? real : nil
    }

    static func contentType(for path: String) -> String {
        let name = path.split(separator: "/").last ?? ""
        guard let dot = name.lastIndex(of: ".") else { return "application/octet-stream" }
        switch name[name.index(after: dot)...].lowercased() {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json": return "application/json"
        case "txt": return "text/plain; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "ico": return "image/x-icon"
        case "wasm": return "application/wasm"
        case "woff2": return "font/woff2"
        case "mp4": return "video/mp4"
        case "webm": return "video/webm"
        case "pdf": return "application/pdf"
        default: return "application/octet-stream"
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

extension Substring {
    /// Without surrounding spaces and tabs.
    fileprivate var trimmingCharacters: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}

/// A regular file held open from the checks to the read, so that what is checked (its size,
/// its validators) is what is read; closed when the last reference goes.
private final class OpenFile {
    let path: String
    let descriptor: Int32
    let size: Int
    let modifiedSeconds: Int
    /// Strong: inode, size and modification time (to the nanosecond), so any change makes a new one.
    let etag: String

    init?(_ path: String) {
        // O_NONBLOCK: opening a FIFO someone left in the directory must not stall the loop.
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            return nil
        }
        self.path = path
        self.descriptor = descriptor
        size = Int(info.st_size)
        modifiedSeconds = Int(info.st_mtim.tv_sec)
        let modified = Int(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int(info.st_mtim.tv_nsec)
        etag = "\"\(String(info.st_ino, radix: 16))-\(String(size, radix: 16))-\(String(modified, radix: 16))\""
    }

    deinit { close(descriptor) }

    /// The bytes of `range` (within the file), refusing to read more than `limit`.
    func read(_ range: Range<Int>, limit: Int) throws -> [UInt8] {
        guard range.count <= limit else { throw FileTooLarge(path: path, size: range.count, limit: limit) }
        return try [UInt8](unsafeUninitializedCapacity: range.count) { buffer, count in
            count = 0
            while count < range.count {
                let got = pread(descriptor, buffer.baseAddress! + count, range.count - count, off_t(range.lowerBound + count))
                if got == 0 { break }
                if got < 0 {
                    if errno == EINTR { continue }
                    throw FileReadFailed(path: path, reason: String(cString: strerror(errno)))
                }
                count += got
            }
        }
    }
}

/// Logged, never shown: the client sees a plain 500.
private struct FileTooLarge: Error, CustomStringConvertible {
    let path: String, size: Int, limit: Int
    var description: String { "static file \(path): \(size) bytes to send, over the \(limit)-byte limit of serveFiles" }
}

private struct FileReadFailed: Error, CustomStringConvertible {
    let path: String, reason: String
    var description: String { "reading static file \(path) failed: \(reason)" }
}
