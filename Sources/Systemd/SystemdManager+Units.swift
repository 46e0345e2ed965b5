/// Reading the manager and its units: nothing here starts, stops or changes a unit.
extension SystemdManager {
    /// systemd's version string, e.g. "252.38-1~deb12u1".
    public func version() throws -> String {
        try stringProperty(Self.managerPath, Self.managerInterface, "Version", target: "manager")
    }

    /// The unit's load, active and sub state and, where the type has one, its Result.
    /// Looking at a unit never starts it (nor triggers its socket).
    public func unit(_ name: String) throws -> UnitState {
        try Self.validate(name)
        let path = UnitName.objectPath(name)
        let load = try stringProperty(path, Self.unitInterface, "LoadState", target: name)
        let active = try stringProperty(path, Self.unitInterface, "ActiveState", target: name)
        let sub = try stringProperty(path, Self.unitInterface, "SubState", target: name)
        var result: String? = nil
        if let iface = Self.typeInterface(of: name), load == "loaded" {
            result = try? stringProperty(path, iface, "Result", target: name)
        }
        return UnitState(name: name, loadState: load, activeState: active, subState: sub, result: result)
    }

    /// Loaded units whose names match one of `patterns` (shell globs, as `systemctl list-units`).
    public func listUnits(matching patterns: [String]) throws -> [UnitState] {
        let target = patterns.joined(separator: " ")
        let reply = try call("ListUnitsByPatterns", target: target) { m throws(BusMessageError) in
            try m.append([String]())
            try m.append(patterns)
        }
        do {
            var units: [UnitState] = []
            _ = try reply.enter("a", "(ssssssouso)")
            while try reply.enter("r", "ssssssouso") {
                let name = try reply.readString()
                _ = try reply.readString()  // description
                let load = try reply.readString()
                let active = try reply.readString()
                let sub = try reply.readString()
                _ = try reply.readString()  // following
                _ = try reply.readObjectPath()
                _ = try reply.readUInt32()  // job id
                _ = try reply.readString()  // job type
                _ = try reply.readObjectPath()
                try reply.exit()
                units.append(UnitState(name: name, loadState: load, activeState: active, subState: sub, result: nil))
            }
            try reply.exit()
            return units
        } catch {
            throw SystemdError.callFailed(method: "ListUnitsByPatterns", target: target, message: "\(error)")
        }
    }

    /// The slice a unit runs in ("" for units that are not in one).
    public func slice(of name: String) throws -> String {
        try Self.validate(name)
        guard let iface = Self.typeInterface(of: name) else { return "" }
        return try stringProperty(UnitName.objectPath(name), iface, "Slice", target: name)
    }

    /// True for a unit made over D-Bus (StartTransientUnit), false for one from a unit file.
    public func isTransient(_ name: String) throws -> Bool {
        try Self.validate(name)
        return try int32Property(UnitName.objectPath(name), Self.unitInterface, "Transient", type: "b", target: name) != 0
    }

    /// The D-Bus interface of the unit's type, which holds its Result and Slice.
    static func typeInterface(of name: String) -> String? {
        let types = [
            "service": "Service", "socket": "Socket", "mount": "Mount", "swap": "Swap",
            "timer": "Timer", "path": "Path", "automount": "Automount", "scope": "Scope",
        ]
        guard let dot = name.lastIndex(of: "."), let t = types[String(name[name.index(after: dot)...])] else { return nil }
        return "org.freedesktop.systemd1.\(t)"
    }
}
