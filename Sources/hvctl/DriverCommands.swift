import ArgumentParser
import Core
import FoundationEssentials
import Hypervisors
import Stack
import Systemd

/// Options every driver command takes.
struct DriverOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The INI file that gets [DEFAULT] compute_driver (default: $HVCTL_COMPUTE_CONFIG, else /etc/hvctl/compute.conf); point it at a real nova.conf if you have one.", valueName: "file"))
    var computeConfig: String?

    @OptionGroup var drivers: NativeDriverOptions

    var settings: DriverSettings {
        var s = DriverSettings()
        if let computeConfig { s.computeConfig = computeConfig }
        drivers.apply(to: &s)
        return s
    }
}

struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Bring a hypervisor up with its hooks and make it the active driver.",
        discussion: """
            When DRIVER is not up, runs the stack flow for it (hooks stack pre-install, install, \
            hooks stack install, configure, hooks stack post-config, start, hooks stack extra, \
            hooks stack test-config). When it is already up (hvctl stacked it, has not unstacked \
            it since, and its daemon runs) it says so and returns at once, running no hooks; a \
            daemon that runs but that hvctl never stacked gets the whole stack flow. Other \
            drivers that are up stay up (hvctl switch replaces one).

            For docker: docker.service must be known to systemd (or --install-packages lets \
            hvctl apt-get docker.io), the base image is imported when missing (a busybox image \
            made on this host, or --image / --rootfs), the compute config gets compute_driver, \
            and docker.service is started over D-Bus until /_ping answers. For libvirt: \
            libvirtd.service and QEMU must be there, the domain type is kvm when /dev/kvm is \
            usable (else qemu, with a warning), and libvirtd.service is started until the URI \
            connects. For podman: as docker, through podman.socket (Podman's API; podman.service \
            comes and goes with use). For a DevStack hypervisor script (hypervisor-NAME in \
            TOP_DIR/lib/nova_plugins or /etc/hvctl/hypervisors.d): each of its verbs runs as a \
            unit, in DevStack's environment when TOP_DIR is a DevStack checkout.

            Examples:
              hvctl start docker
              hvctl start docker --extras-dir ./extras.d --env ENABLED_SERVICES=n-cpu
              hvctl start libvirt
              hvctl start openvz --top-dir /opt/stack/devstack
            """
    )

    @Argument(help: "docker, podman, libvirt, fake, or a DevStack hypervisor script's NAME (hvctl drivers lists them; script:NAME when a native driver has that name).")
    var driver: String

    @OptionGroup var options: FlowOptions

    @Flag(help: "Let install run apt-get when the hypervisor is missing.")
    var installPackages = false

    @Option(help: ArgumentHelp("Run instances from this image instead of hvctl's busybox image.", valueName: "image"))
    var image: String?

    @Option(help: ArgumentHelp("Import this rootfs tarball as the base image instead of busybox.", valueName: "tar"))
    var rootfs: String?

    func run() async throws {
        var settings = options.driverOptions.settings
        settings.installPackages = installPackages
        settings.baseImage = image
        settings.baseRootfs = rootfs
        let flow = try await options.flow(driver: driver, settings: settings)
        let session = flow.session
        let json = options.output == .json
        if options.dryRun {
            // Looks only: status starts nothing and records nothing.
            let up = try await flow.isUp()
            options.printPlan(
                "start", driver: session.driver.name,
                up ? ["\(session.driver.name) is already running: start would make it the active driver and run no hooks"] : try flow.plan(.stack))
            return
        }
        // Already up: the quick no-op, no hooks; it still becomes the active driver. Under
        // the host lock, like every change to the host.
        let lock = try await options.hostLock()
        let activation = try await flow.activateIfRunning()
        if activation != .notUp {
            lock.release()
            if json {
                printJSON(FlowResult.alreadyRunning(session.driver.name, run: session.context.run.value, madeActive: activation == .madeActive))
            } else {
                say("\(session.driver.name) is already running; it is the active driver")
            }
            return
        }
        let clock = ContinuousClock()
        let began = clock.now
        try await options.locked(flow, "start", held: lock) {
            let result = try await flow.perform(.stack)
            if json { printJSON(result) }
            if let error = result.error { throw error }
        }
        if !json { say("\(session.driver.name) started in \((clock.now - began).inSeconds.fixed(1)) s; it is the active driver") }
    }
}

struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Unstack a driver: its unstack hooks, then stop its instances and, if hvctl started it, the daemon.",
        discussion: """
            Runs the unstack flow for the driver (the active one by default): hooks unstack, \
            then the driver's stop verb. Instances get a graceful stop, then are killed after \
            --grace seconds. The daemon (with its socket units, which would start it again) is \
            stopped only if hvctl started it, or with --force. Afterwards no driver is active.
            """
    )

    @Argument(help: "The driver (default: the active driver).")
    var driver: String?

    @OptionGroup var options: FlowOptions

    @Flag(help: "Stop the daemon even if hvctl did not start it.")
    var force = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Seconds instances get to shut down before they are killed (default 10).", valueName: "seconds"))
    var grace: Int?

    func validate() throws {
        if let grace, grace < 0 || grace > HostConfig.maxSeconds {
            throw ValidationError("--grace takes a number of seconds from 0 to \(HostConfig.maxSeconds)")
        }
    }

    func run() async throws {
        var settings = options.driverOptions.settings
        if let grace { settings.stopGrace = .seconds(grace) }
        let force = self.force
        try await FlowRunner.run(.unstack, driver: driver, options: options, settings: settings, command: "stop") { $0.force = force }
    }
}

struct DriversCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drivers", abstract: "List the drivers and the state of each, without starting anything.")

    @OptionGroup var options: DriverOptions

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: OutputFormat = .text

    func run() async throws {
        let listing = try await DriverListing.make(settings: options.settings)
        if output == .json {
            printJSON(listing)
            return
        }
        for s in listing.drivers {
            let mark = s.driver == listing.active ? "*" : " "
            let state = s.running ? "running" : (s.installed ? "stopped" : "not installed")
            say("\(mark) \(s.driver.padded(to: 8)) \(state.padded(to: 14)) \(s.detail)")
        }
        for script in listing.scripts {
            let name = script.shadowed ? Drivers.scriptPrefix + script.name : script.name
            let note = script.shadowed ? " (the native \(script.name) wins; select this one as \(name))" : ""
            say("  \(name.padded(to: 8)) script         \(script.path), from \(script.origin)\(note)")
        }
        for (name, why) in listing.refused.sorted(by: { $0.key < $1.key }) {
            note("hypervisor-\(name) is not a driver: \(why)")
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the active driver, its daemon and its instances, without starting anything.")

    @Argument(help: "The driver (default: the active driver).")
    var driver: String?

    @OptionGroup var options: DriverOptions

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: OutputFormat = .text

    func run() async throws {
        let session = try await DriverSession.open(driverName: driver, settings: options.settings)
        let status = try await session.driver.status(session.context)
        let state = try session.context.state.load()
        let active = state.activeDriver
        // Up as `hvctl start` means it: stacked by hvctl and running.
        let up = status.running && state[driver: status.driver].stacked == true
        if output == .json {
            struct Status: Encodable { var active: String?; var selected: String; var selectedFrom: String; var up: Bool; var status: DriverStatus }
            printJSON(Status(active: active, selected: session.selection.name, selectedFrom: session.selection.source, up: up, status: status))
            return
        }
        say("driver:    \(status.driver) (from \(session.selection.source))\(active == status.driver ? ", active" : "")")
        say("running:   \(status.running ? "yes" : "no")\(status.version.map { ", \($0)" } ?? "")\(status.running && !up ? " (not stacked by hvctl: `hvctl start \(status.driver)` runs its stack)" : "")")
        say("detail:    \(status.detail)")
        if let n = status.instances { say("instances: \(n)") }
    }
}
