// swift-tools-version:6.1
// Hummingbird peer for Benchmarks/http/run.sh. Its own package so that
// Hummingbird and SwiftNIO never enter Courier's package graph. It lives in
// hummingbird/HBHello/, not in hummingbird/ itself: a root package in a folder
// named "hummingbird" takes the identity of its dependency and fails to resolve.
import PackageDescription

let package = Package(
    name: "HBHello",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "HBHello", targets: ["HBHello"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1")
    ],
    targets: [
        .executableTarget(
            name: "HBHello",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird")
            ]
        )
    ]
)
