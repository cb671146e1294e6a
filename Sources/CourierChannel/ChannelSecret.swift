import Foundation

/// Where the token secret comes from: `COURIER_CHANNEL_SECRET`, else a file next to the app's
/// data, generated once (32 random bytes, mode 0600), so tokens survive restarts and every
/// process pointed at the same file (or variable) accepts the same tokens.
public enum ChannelSecret {
    public static func load(storedAt path: String = "courier-data/channel-secret") throws -> [UInt8] {
        if let configured = ProcessInfo.processInfo.environment["COURIER_CHANNEL_SECRET"], !configured.isEmpty {
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
        // Another process may have won the race: keep whichever secret landed first.
        if link(temporary.path, url.path) != 0 {
            try? FileManager.default.removeItem(at: temporary)
            if let existing = try? Data(contentsOf: url), existing.count >= 32 { return Array(existing) }
            throw CocoaError(.fileWriteUnknown)
        }
        try? FileManager.default.removeItem(at: temporary)
        return secret
    }
}
