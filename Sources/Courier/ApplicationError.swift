/// A mistake in how the app was put together, reported when it is built (before serving),
/// naming the route or middleware at fault.
public struct ApplicationError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, naming the route or middleware at fault.
    public let description: String
    /// An error with a message that names what to fix.
    public init(_ description: String) { self.description = description }
}
