// swift-tools-version:6.2
// Hummingbird-websocket peer for Benchmarks/channel/run.sh. Its own package so that
// Hummingbird and SwiftNIO never enter Courier's package graph. It lives in
// hummingbird/HBChannel/, not in hummingbird/ itself: a root package in a folder named
// "hummingbird" takes the identity of its dependency and fails to resolve.
// (tools 6.2: hummingbird-websocket 2.8.1's own manifest needs it.)
import PackageDescription

let package = Package(
    name: "HBChannel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "HBChannel", targets: ["HBChannel"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        .executableTarget(
            name: "HBChannel",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
