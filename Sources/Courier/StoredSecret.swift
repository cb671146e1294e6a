import Foundation

/// A server secret that survives restarts: from an environment variable when set, else from a
/// file next to the app's data, generated once (32 random bytes, mode 0600). Every process
/// pointed at the same variable or file signs and accepts the same tokens and cookies.
public enum StoredSecret {
    /// The variable's bytes if set (at least 16, else it throws); else the file at `path` (at least 32 bytes), made with 32 random bytes and mode 0600 when missing. Processes racing to make it all keep the first one written. Throws if the file cannot be written.
    public static func load(environmentVariable: String, path: String) throws -> [UInt8] {
        if let configured = ProcessInfo.processInfo.environment[environmentVariable], !configured.isEmpty {
            guard configured.utf8.count >= 16 else {
                throw ApplicationError("\(environmentVariable) must be at least 16 bytes long")
            }
            return Array(configured.utf8)
        }
        let url = URL(fileURLWithPath: path)
        if let existing = try? Data(contentsOf: url), existing.count >= 32 {
            return Array(existing)
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let temporary = url.appendingPathExtension("tmp-\(getpid())")
        _ = FileManager.default.createFile(atPath: temporary.path, contents: Data(secret), attributes: [.posixPermissions: 0o600])
        defer { try? FileManager.default.removeItem(at: temporary) }
        // Another process may have won the race: keep whichever secret landed first.
        if link(temporary.path, url.path) != 0 {
            if let existing = try? Data(contentsOf: url), existing.count >= 32 { return Array(existing) }
            throw ApplicationError("cannot store a secret at \(path): \(String(cString: strerror(errno)))")
        }
        return secret
    }
}
