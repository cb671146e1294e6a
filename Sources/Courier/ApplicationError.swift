/// A mistake in how the app was put together, reported when it is built (before serving),
/// naming the route or middleware at fault.
public struct ApplicationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
