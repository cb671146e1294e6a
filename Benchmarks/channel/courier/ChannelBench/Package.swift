// swift-tools-version:6.1
// Courier's side of Benchmarks/channel/run.sh: the Channel API over the WebSocket transport
// plus four POST routes that call it. Its own package so that the benchmark's products never
// enter Courier's package graph; it depends on the repository root by path.
import PackageDescription

let package = Package(
    name: "ChannelBench",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ChannelBench", targets: ["ChannelBench"])
    ],
    dependencies: [
        .package(name: "Courier", path: "../../../..")
    ],
    targets: [
        .executableTarget(
            name: "ChannelBench",
            dependencies: [
                .product(name: "Courier", package: "Courier"),
                .product(name: "CourierChannel", package: "Courier"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
