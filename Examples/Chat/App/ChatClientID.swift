/// Client IDs for chat pages. `GET /` hands out a token for whatever ID it draws, and a token for
/// an ID already in use takes that client over: its held messages, and a 409 that closes the
/// tab that had it. Four base-36 characters (the first version) matched a connected visitor's
/// within a few thousand page loads; 128 bits from the system's CSPRNG never will.
enum ChatClientID {
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return "user-" + hex(generator.next()) + hex(generator.next())
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
