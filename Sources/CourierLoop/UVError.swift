import CLibUV

/// The one error type of the loop layer: a libuv status code with libuv's own name and text,
/// so a failed bind or write says exactly what the kernel said.
public struct UVError: Error, Equatable, CustomStringConvertible, Sendable {
    public let code: Int32
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    public var name: String { String(cString: uv_err_name(code)) }
    public var message: String { String(cString: uv_strerror(code)) }
    public var description: String { "\(operation): \(name) (\(message))" }

    public var isEndOfFile: Bool { code == Int32(UV_EOF.rawValue) }
    public var isCancelled: Bool { code == Int32(UV_ECANCELED.rawValue) }

    /// Throws when a libuv call returned a negative status.
    @discardableResult
    static func check(_ status: Int32, _ operation: @autoclosure () -> String) throws(UVError) -> Int32 {
        if status < 0 { throw UVError(code: status, operation: operation()) }
        return status
    }
}
