// swift-tools-version:6.1
import PackageDescription

/// No unsafe flags: SwiftPM refuses them in a package others depend on by version
/// (Tests/consumer proves it builds as one). The runtime exclusivity checks stay on, except on
/// the few hot stored properties marked `@exclusivity(unchecked)`, each confined to one loop.
/// ExistentialAny and InternalImportsByDefault, as Hummingbird turns on: every existential is
/// spelled `any`, and a module's public API shows which imports it exposes (`public import`).
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Courier",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Courier", targets: ["Courier"]),
        .library(name: "CourierTesting", targets: ["CourierTesting"]),
        .library(name: "CourierChannel", targets: ["CourierChannel"]),
        .library(name: "CourierRedis", targets: ["CourierRedis"]),
        .executable(name: "Hello", targets: ["Hello"]),
        .executable(name: "Echo", targets: ["Echo"]),
        .executable(name: "Chat", targets: ["Chat"]),
        .executable(name: "TicTacToe", targets: ["TicTacToe"]),
        .executable(name: "ChannelNode", targets: ["ChannelNode"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        // Its graph is swift-atomics and swift-metrics: no SwiftNIO (`swift package show-dependencies`).
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "CLibUV", path: "Sources/CLibUV", pkgConfig: "libuv",
                       providers: [.apt(["libuv1-dev"])]),
        .target(name: "CourierLoop", dependencies: ["CLibUV"], swiftSettings: strict),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CourierHTTP",
                dependencies: ["CZlib", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: strict),
        .target(name: "CourierServer",
                dependencies: ["CourierLoop", "CourierHTTP", .product(name: "Logging", package: "swift-log"),
                               .product(name: "CoreMetrics", package: "swift-metrics")],
                swiftSettings: strict),
        .target(name: "Courier",
                dependencies: ["CourierServer", "CourierHTTP", "CourierLoop", .product(name: "Logging", package: "swift-log"),
                               .product(name: "Crypto", package: "swift-crypto"),
                               .product(name: "ArgumentParser", package: "swift-argument-parser"),
                               .product(name: "CoreMetrics", package: "swift-metrics"),
                               .product(name: "Prometheus", package: "swift-prometheus")],
                swiftSettings: strict),
        .target(name: "CourierChannel",
                dependencies: ["Courier", "CourierHTTP", "CourierLoop", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                               .product(name: "CoreMetrics", package: "swift-metrics")],
                swiftSettings: strict),
        .target(name: "CourierTesting", dependencies: ["Courier"], swiftSettings: strict),
        // No pkgConfig: hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM refuses with a
        // warning on every build; the headers are in /usr/include and module.modulemap links it.
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .target(name: "CourierRedis",
                dependencies: ["CHiredis", "CourierLoop", "CourierHTTP", "CourierChannel", "Courier", .product(name: "Crypto", package: "swift-crypto"),
                               .product(name: "Logging", package: "swift-log"),
                               .product(name: "ArgumentParser", package: "swift-argument-parser"),
                               .product(name: "CoreMetrics", package: "swift-metrics")],
                swiftSettings: strict),
        .executableTarget(name: "Hello", dependencies: ["Courier"], path: "Examples/Hello", swiftSettings: strict),
        .executableTarget(name: "Echo", dependencies: ["Courier", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                                .product(name: "Crypto", package: "swift-crypto")], path: "Examples/Echo", swiftSettings: strict),
        .target(name: "ChatApp", dependencies: ["Courier", "CourierChannel"], path: "Examples/Chat/App", swiftSettings: strict),
        .executableTarget(name: "Chat", dependencies: ["ChatApp", "Courier", "CourierChannel", "CourierRedis", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "Examples/Chat/Main",
                          swiftSettings: strict),
        .target(name: "TicTacToeApp",
                dependencies: ["Courier", "CourierChannel", .product(name: "GRDB", package: "GRDB.swift"),
                               .product(name: "Mustache", package: "swift-mustache")],
                path: "Examples/TicTacToe/App", resources: [.copy("Templates")], swiftSettings: strict),
        .executableTarget(name: "TicTacToe", dependencies: ["TicTacToeApp", "CourierRedis", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "Examples/TicTacToe/Main", swiftSettings: strict),
        .executableTarget(name: "ChannelNode", dependencies: ["Courier", "CourierChannel", "CourierRedis", .product(name: "ArgumentParser", package: "swift-argument-parser")], path: "Examples/ChannelNode",
                          swiftSettings: strict),
        .testTarget(name: "CourierLoopTests", dependencies: ["CourierLoop"], swiftSettings: strict),
        .testTarget(name: "CourierRedisTests", dependencies: ["CourierRedis", "CourierLoop", "CourierChannel", "Courier", "CourierTesting"],
                    swiftSettings: strict),
        .testTarget(name: "CourierHTTPTests", dependencies: ["CourierHTTP"], swiftSettings: strict),
        .testTarget(name: "CourierServerTests", dependencies: ["CourierServer", "CourierTesting"], swiftSettings: strict),
        .testTarget(name: "CourierTests", dependencies: ["Courier", "CourierLoop", "CourierTesting"], swiftSettings: strict),
        .testTarget(name: "CourierWebSocketTests", dependencies: ["Courier", "CourierLoop", "CourierTesting"], swiftSettings: strict),
        .testTarget(name: "CourierChannelTests", dependencies: ["CourierChannel", "Courier", "CourierLoop", "CourierTesting"], swiftSettings: strict),
        .testTarget(name: "ExamplesTests", dependencies: ["TicTacToeApp", "ChatApp", "CourierChannel", "Courier", "CourierLoop", "CourierTesting"],
                    swiftSettings: strict),
    ]
)

// Fuzz targets (Tests/fuzz, `make fuzz`), declared only when COURIER_FUZZ=1: normal builds,
// `make test` and packages depending on Courier by version never see them. They are built with
// `-Xswiftc -sanitize=fuzzer,address` for the whole graph (so the code under test carries
// libFuzzer's coverage), and `-parse-as-library`, as libFuzzer supplies `main`. See scripts/fuzz.sh.
if Context.environment["COURIER_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzHTTPParser", ["CourierHTTP"]),
        ("FuzzWebSocketParser", ["CourierHTTP"]),
        ("FuzzHTTP1StateMachine", ["CourierHTTP"]),
        ("FuzzWebSocketStateMachine", ["CourierHTTP"]),
        ("FuzzForms", ["Courier", "CourierHTTP"]),
        ("FuzzChannel", ["CourierChannel", "Courier", "CourierHTTP"]),
        ("FuzzForwarded", ["CourierHTTP"]),
    ]
    package.targets.append(.target(name: "FuzzSupport", path: "Tests/fuzz/FuzzSupport", swiftSettings: strict))
    for target in fuzzTargets {
        package.targets.append(.executableTarget(name: target.name, dependencies: ["FuzzSupport"] + target.dependencies,
                                                 path: "Tests/fuzz/\(target.name)",
                                                 swiftSettings: strict + [.unsafeFlags(["-parse-as-library"])]))
        package.products.append(.executable(name: target.name, targets: [target.name]))
    }
}
