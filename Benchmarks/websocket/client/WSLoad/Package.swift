// swift-tools-version:6.1
// The load client of Benchmarks/websocket/run.sh: plain POSIX sockets (poll and
// epoll, one thread), percentiles from HdrHistogram. Its own package so that
// its dependencies never enter Courier's package graph.
import PackageDescription

let package = Package(
    name: "WSLoad",
    products: [
        .executable(name: "WSLoad", targets: ["WSLoad"])
    ],
    dependencies: [
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0")
    ],
    targets: [
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        .executableTarget(
            name: "WSLoad",
            dependencies: [
                "CEpoll",
                .product(name: "Histogram", package: "hdrhistogram-swift")
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
