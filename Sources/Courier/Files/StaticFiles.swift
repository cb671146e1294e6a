import CourierHTTP
#if canImport(Glibc)
import Glibc
#endif

extension Application {
    /// Serves the files under `directory` at GET (and HEAD) `prefix/<path>`.
    ///
    ///     app.serveFiles(at: "/static", from: "public")
    ///
    /// A file is read whole, with POSIX `open`/`read`, right on the connection's loop: static
    /// assets (scripts, styles, icons) are small and, after the first request, in the page
    /// cache, where reading one costs microseconds, less than a hop to a thread pool and back.
    /// That only holds for small files, so a file over `maxFileBytes` (16 MiB by default) is
    /// never read: it answers a plain 500 and the log names it. Serve big files from a CDN or a
    /// file server in front of the app.
    ///
    /// Answers carry a strong ETag (inode, size and modification time) and `Cache-Control:
    /// no-cache`: browsers revalidate each time and get a bodiless 304 while the file is
    /// unchanged. A missing file, a directory, a `..` segment, a NUL byte, and a path whose real
    /// location (symlinks resolved) is outside `directory` all answer the same 404, so probing
    /// learns nothing about what lies outside. A missing `directory` is a build error.
    public func serveFiles(at prefix: String, from directory: String, maxFileBytes: Int = 16 << 20) {
        let files: StaticFiles
        do {
            files = try StaticFiles(directory: directory, maxFileBytes: maxFileBytes)
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

    init(directory: String, maxFileBytes: Int) throws(ApplicationError) {
        guard let root = Self.realPath(directory) else {
            throw ApplicationError("cannot open directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard stat(root, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw ApplicationError("'\(directory)' is not a directory")
        }
        self.root = root
        self.maxFileBytes = maxFileBytes
    }

    func respond(to request: Request, _ response: inout Response) throws {
        let relative = request.parameters["path"] ?? ""
        guard let path = resolve(relative) else { throw HTTPError(.notFound) }
        // O_NONBLOCK: opening a FIFO someone left in the directory must not stall the loop.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw HTTPError(.notFound) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw HTTPError(.notFound) }
        let size = Int(info.st_size)
        guard size <= maxFileBytes else { throw FileTooLarge(path: path, size: size, limit: maxFileBytes) }

        let modified = Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)
        let etag = "\"\(String(info.st_ino, radix: 16))-\(String(size, radix: 16))-\(String(modified, radix: 16))\""
        response.headers.set("ETag", etag)
        response.headers.set("Cache-Control", "no-cache")
        if Self.matches(etag, request.headers.values("If-None-Match")) {
            response.status = .notModified
            return
        }
        response.contentType = Self.contentType(for: relative)
        response.body = try Self.read(descriptor, size: size, path: path)
    }

    /// The file's real path, or nil when the request may not reach it.
    private func resolve(_ relative: String) -> String? {
        guard !relative.utf8.contains(0),
              !relative.split(separator: "/", omittingEmptySubsequences: false).contains("..") else { return nil }
        guard let real = Self.realPath(root + "/" + relative) else { return nil }
        return real.hasPrefix(root == "/" ? "/" : root + "/") ? real : nil
    }

    /// If-None-Match uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored.
    private static func matches(_ etag: String, _ headers: [String]) -> Bool {
        for header in headers {
            for candidate in header.split(separator: ",") {
                var tag = candidate.filter { $0 != " " && $0 != "\t" }
                if tag == "*" { return true }
                if tag.hasPrefix("W/") { tag.removeFirst(2) }
                if tag == etag { return true }
            }
        }
        return false
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
        default: return "application/octet-stream"
        }
    }

    private static func read(_ descriptor: Int32, size: Int, path: String) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while count < size {
                let got = Glibc.read(descriptor, buffer.baseAddress! + count, size - count)
                if got == 0 { break }
                if got < 0 {
                    if errno == EINTR { continue }
                    throw FileReadFailed(path: path, reason: String(cString: strerror(errno)))
                }
                count += got
            }
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// Logged, never shown: the client sees a plain 500.
private struct FileTooLarge: Error, CustomStringConvertible {
    let path: String, size: Int, limit: Int
    var description: String { "static file \(path) is \(size) bytes, over the \(limit)-byte limit of serveFiles" }
}

private struct FileReadFailed: Error, CustomStringConvertible {
    let path: String, reason: String
    var description: String { "reading static file \(path) failed: \(reason)" }
}
