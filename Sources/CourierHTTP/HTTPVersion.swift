/// An HTTP version. The numbers are kept in a byte each (a version is one digit each; larger
/// values are clamped to 255): as two `Int`s they pushed a request head past the size Swift
/// copies inline, and every copy of a head went through outlined copy functions.
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    private var majorByte: UInt8
    private var minorByte: UInt8

    /// The major version; values outside 0...255 are clamped.
    public var major: Int {
        get { Int(majorByte) }
        set { majorByte = UInt8(clamping: newValue) }
    }

    /// The minor version; values outside 0...255 are clamped.
    public var minor: Int {
        get { Int(minorByte) }
        set { minorByte = UInt8(clamping: newValue) }
    }

    /// A version; each number is clamped to 0...255.
    public init(major: Int, minor: Int) {
        majorByte = UInt8(clamping: major)
        minorByte = UInt8(clamping: minor)
    }

    /// HTTP/1.0: connections close after each response unless keep-alive is asked for.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1: persistent connections by default; requests must carry Host.
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// As on the wire: "HTTP/1.1".
    public var description: String { "HTTP/\(major).\(minor)" }
}
