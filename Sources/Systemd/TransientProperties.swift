/// The `a(sv)` of StartTransientUnit, written in the groups systemd-run writes it in
/// (src/run/run.c): what every unit has (`unit`, transient_unit_set_properties), where its
/// processes go (`cgroup`, transient_cgroup_set_properties), and what a service runs and how
/// (`service`, transient_service_set_properties, which starts with the other two). run.c's
/// kill group (SendSIGHUP=) has no counterpart: hvctl sets no kill settings of its own, and a
/// caller's (KillMode=, …) come with the other `extraProperties`.
struct TransientProperties {
    private let message: BusMessage

    /// Writes into `message`, whose `a(sv)` container the caller has opened.
    init(_ message: BusMessage) {
        self.message = message
    }

    /// transient_unit_set_properties: Description, CollectMode, AddRef.
    func unit(_ s: TransientService, collectMode: String, addRef: Bool) throws(BusMessageError) {
        try append("Description", .string(s.description ?? "hvctl: \(s.command.joined(separator: " "))"))
        try append("CollectMode", .string(collectMode))
        if addRef {
            // Pins the unit until UnrefUnit, so its exit status can be read after it ended;
            // only through a bus daemon, which is how run.c decides it too.
            try append("AddRef", .bool(true))
        }
    }

    /// transient_cgroup_set_properties: Slice.
    func cgroup(_ s: TransientService) throws(BusMessageError) {
        if let slice = s.slice { try append("Slice", .string(slice)) }
    }

    /// transient_service_set_properties: the unit and cgroup groups, then the service's own
    /// (Type, User, WorkingDirectory, Environment, ExecStart), its limit and its logging, and
    /// last the caller's `extraProperties`, so that their word on a setting is the last one.
    func service(_ s: TransientService, collectMode: String, addRef: Bool) throws(BusMessageError) {
        try unit(s, collectMode: collectMode, addRef: addRef)
        try cgroup(s)

        try append("Type", .string(s.type))
        if let user = s.user { try append("User", .string(user)) }
        if let dir = s.workingDirectory { try append("WorkingDirectory", .string(dir)) }
        if !s.environment.isEmpty {
            try append("Environment", .strings(s.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }))
        }
        try execStart(s.command)
        if let max = s.runtimeMax {
            // systemd ignores RuntimeMaxSec= for oneshot services; this is the limit that applies.
            try append("TimeoutStartUSec", .uint64(max.microseconds))
        }

        if let id = s.syslogIdentifier { try append("SyslogIdentifier", .string(id)) }
        if !s.logExtraFields.isEmpty {
            try append("LogExtraFields", signature: "aay") { () throws(BusMessageError) in
                try message.open("a", "ay")
                for (k, v) in s.logExtraFields.sorted(by: { $0.key < $1.key }) {
                    try message.appendBytes(Array("\(k)=\(v)".utf8))
                }
                try message.close()
            }
        }
        if s.unlimitedLogRate { try append("LogRateLimitIntervalUSec", .uint64(0)) }

        for (name, value) in s.extraProperties { try append(name, value) }
    }

    /// ExecStart=, one command, its failure not ignored.
    private func execStart(_ command: [String]) throws(BusMessageError) {
        try append("ExecStart", signature: "a(sasb)") { () throws(BusMessageError) in
            try message.open("a", "(sasb)")
            try message.open("r", "sasb")
            try message.append(command[0])
            // systemd substitutes $VAR and $$ in ExecStart= at exec time, even for commands
            // sent over D-Bus (252 has no ExecStartEx no-env-expand flag, which run.c uses
            // where it can); doubling every '$' makes the command run with exactly the
            // arguments the caller gave. Every "$" doubled, scalar by scalar: systemd reads
            // bytes, so one before a combining mark is a "$" too.
            try message.append(command.map { $0.unicodeScalars.reduce(into: "") { out, c in out.unicodeScalars.append(contentsOf: c == "$" ? [c, c] : [c]) } })
            try message.append(false)
            try message.close()
            try message.close()
        }
    }

    // MARK: one property

    /// One `(sv)` of a plain type.
    private func append(_ name: String, _ value: UnitPropertyValue) throws(BusMessageError) {
        switch value {
        case .string(let v): try append(name, signature: "s") { () throws(BusMessageError) in try message.append(v) }
        case .bool(let v): try append(name, signature: "b") { () throws(BusMessageError) in try message.append(v) }
        case .uint64(let v): try append(name, signature: "t") { () throws(BusMessageError) in try message.append(v) }
        case .int32(let v): try append(name, signature: "i") { () throws(BusMessageError) in try message.append(v) }
        case .strings(let v): try append(name, signature: "as") { () throws(BusMessageError) in try message.append(v) }
        case .exitStatuses(let statuses, let signals):
            try append(name, signature: "(aiai)") { () throws(BusMessageError) in
                try message.open("r", "aiai")
                try message.append(statuses)
                try message.append(signals)
                try message.close()
            }
        }
    }

    /// One `(sv)` whose value `body` writes.
    private func append(_ name: String, signature: String, _ body: () throws(BusMessageError) -> Void) throws(BusMessageError) {
        try message.open("r", "sv")
        try message.append(name)
        try message.open("v", signature)
        try body()
        try message.close()
        try message.close()
    }
}
