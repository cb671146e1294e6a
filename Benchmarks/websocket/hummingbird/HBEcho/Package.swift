// swift-tools-version:6.2
// Hummingbird-websocket peer for Benchmarks/websocket/run.sh. Its own package so
// that Hummingbird and SwiftNIO never enter Courier's package graph. It lives in
// hummingbird/HBEcho/, not in hummingbird/ itself: a root package in a folder
// named "hummingbird" takes the identity of its dependency and fails to resolve.
// (tools 6.2: hummingbird-websocket 2.8.1's own manifest needs it.)
import PackageDescription

let package = Package(
    name: "HBEcho",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "HBEcho", targets: ["HBEcho"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        .executableTarget(
            name: "HBEcho",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSCompression", package: "hummingbird-websocket"),
            ]
        )
    ]
)
