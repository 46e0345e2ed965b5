// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "hvctl",
    products: [
        .executable(name: "hvctl", targets: ["hvctl"]),
        .executable(name: "hvctl-bench", targets: ["hvctl-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // C libraries, imported as they are: a module map and a shim header each.
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // libvirt's headers only: hvctl loads the library itself on first use (LibvirtLibrary),
        // so no pkg-config link flags and no `link` in the module map.
        .systemLibrary(name: "CLibvirt", providers: [.apt(["libvirt-dev"])]),

        // A serial executor on one dedicated OS thread. sd-journal wants every call on the
        // thread that opened it; sd-bus, sd-journal and libvirt all block in their calls, and
        // a thread of their own keeps that wait off Swift's cooperative pool.
        .target(name: "PinnedThread", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),

        // What every layer shares and none owns: the trust rule, one-line text, runtime paths.
        .target(name: "Core", dependencies: ["PinnedThread", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "Systemd", dependencies: ["CSystemd", "PinnedThread", .product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "Hypervisors",
            dependencies: [
                "CLibvirt", "Core", "PinnedThread", "Systemd", .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(name: "Hooks", dependencies: ["Core", "Systemd", .product(name: "SystemPackage", package: "swift-system")]),
        // A DevStack checkout as hooks' environment: its settings, local.conf, plugins.
        .target(name: "DevStack", dependencies: ["Core", "Hooks", "PinnedThread", "Systemd", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "Stack", dependencies: ["Core", "Systemd", "Hypervisors", "Hooks", "DevStack", "PinnedThread", .product(name: "SystemPackage", package: "swift-system")]),
        .executableTarget(
            name: "hvctl",
            dependencies: [
                "Core", "Stack", "Hooks", "DevStack", "Hypervisors", "Systemd", .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "hvctl-bench", dependencies: ["Systemd"], path: "Benchmarks/hvctl-bench"),

        .target(name: "TestSupport", dependencies: ["Core", "Hooks", "Systemd"], path: "Tests/TestSupport"),
        .testTarget(name: "PinnedThreadTests", dependencies: ["PinnedThread"]),
        .testTarget(name: "SystemdTests", dependencies: ["Systemd", "TestSupport"]),
        .testTarget(name: "HypervisorsTests", dependencies: ["Core", "Hypervisors", "TestSupport"]),
        .testTarget(name: "HooksTests", dependencies: ["Core", "Hooks", "Systemd", "TestSupport"]),
        .testTarget(name: "CoreTests", dependencies: ["Core"]),
        .testTarget(name: "hvctlTests", dependencies: ["Core", "Stack", "Hooks", "DevStack", "Hypervisors", "Systemd", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
