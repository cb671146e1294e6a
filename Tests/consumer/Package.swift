// swift-tools-version:6.1
import PackageDescription

// An app that depends on Courier as any other app would: by URL and version. run.sh points
// COURIER_GIT_URL at a tagged copy of this checkout; SwiftPM refuses a versioned dependency
// whose targets use unsafe build flags, so this building is the proof that Courier has none.
let courierURL = Context.environment["COURIER_GIT_URL"] ?? "https://github.com/courier-swift/courier.git"

let package = Package(
    name: "CourierConsumer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: courierURL, from: "0.1.0"),
    ],
    targets: [
        .executableTarget(name: "Consumer", dependencies: [.product(name: "Courier", package: "courier")],
                          swiftSettings: [.swiftLanguageMode(.v6)]),
    ]
)
