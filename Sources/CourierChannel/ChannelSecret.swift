import Courier

/// Where the token secret comes from: `COURIER_CHANNEL_SECRET`, else a file next to the app's
/// data, generated once, so tokens survive restarts and every process pointed at the same file
/// (or variable) accepts the same tokens.
public enum ChannelSecret {
    /// `COURIER_CHANNEL_SECRET` if set (at least 16 bytes, else it throws); otherwise the file at `path`, made with 32 random bytes (mode 0600) if missing. Throws if the file cannot be written.
    public static func load(storedAt path: String = "courier-data/channel-secret") throws -> [UInt8] {
        try StoredSecret.load(environmentVariable: "COURIER_CHANNEL_SECRET", path: path)
    }
}
