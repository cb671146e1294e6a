// swift-tools-version:6.1
// The load client of Benchmarks/channel/run.sh: plain POSIX sockets (epoll, one thread),
// percentiles from HdrHistogram. Its own package so that its dependencies never enter
// Courier's package graph.
import PackageDescription

let package = Package(
    name: "ChannelLoad",
    products: [
        .executable(name: "ChannelLoad", targets: ["ChannelLoad"])
    ],
    dependencies: [
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0")
    ],
    targets: [
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        .executableTarget(
            name: "ChannelLoad",
            dependencies: [
                "CEpoll",
                .product(name: "Histogram", package: "hdrhistogram-swift")
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
