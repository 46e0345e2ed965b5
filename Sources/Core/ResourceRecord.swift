import FoundationEssentials

/// hvctl's record of one thing it created: written to the state before the create request
/// goes out (so a creation whose reply was lost is still found, by name and run), completed
/// with the daemon's id when the reply comes. Marks (labels, XML metadata) travel with
/// copies — `docker commit`, a domain's XML defined again under another name — so a driver
/// destroys, stops or reaps only what carries its mark AND is on record.
public struct ResourceRecord: Sendable, Equatable, Codable {
    public var driver: String
    /// "container", "image", "domain".
    public var kind: String
    public var name: String
    /// The container or image id, or the domain's UUID; nil until the daemon answered.
    public var id: String?
    /// The run that created it; nil for what all runs share (the base image).
    public var run: String?

    public init(driver: String, kind: String, name: String, id: String? = nil, run: String?) {
        self.driver = driver
        self.kind = kind
        self.name = name
        self.id = id
        self.run = run
    }
}

/// The records of one driver, as loaded at one moment, to ask "is this one hvctl's?".
public struct OwnedResources: Sendable {
    public let records: [ResourceRecord]

    public init(_ records: [ResourceRecord]) { self.records = records }

    /// Whether the resource of `kind` with daemon id `id`, called `name` and carrying the
    /// run id `run` in its mark, is on record: by its id, or — for a creation whose reply was
    /// lost — by its name and run.
    public func owns(kind: String, id: String, name: String, run: String?) -> Bool {
        records.contains { r in
            guard r.kind == kind else { return false }
            if let recorded = r.id { return recorded == id }
            return r.name == name && r.run == run
        }
    }

    public func record(kind: String, id: String, name: String, run: String?) -> ResourceRecord? {
        records.first { r in r.kind == kind && (r.id.map { $0 == id } ?? (r.name == name && r.run == run)) }
    }
}

extension HostState {
    public func owned(by driver: String) -> OwnedResources {
        OwnedResources((resources ?? []).filter { $0.driver == driver })
    }
}

extension StateStore {
    /// Puts `record` on file before the resource is created; an earlier record of the same
    /// driver, kind and name with no id yet (an attempt that never got a reply) is replaced.
    public func record(_ record: ResourceRecord) throws {
        try update { state in
            var list = state.resources ?? []
            list.removeAll { $0.driver == record.driver && $0.kind == record.kind && $0.name == record.name && $0.id == nil }
            list.append(record)
            state.resources = list
        }
    }

    /// The daemon answered: the record made for `name` by `run` gets its id.
    public func confirm(driver: String, kind: String, name: String, run: String?, id: String) throws {
        try update { state in
            guard var list = state.resources else { return }
            for i in list.indices where list[i].driver == driver && list[i].kind == kind && list[i].name == name && list[i].run == run && list[i].id == nil {
                list[i].id = id
            }
            state.resources = list
        }
    }

    /// The resources are gone: their records go too. `ids` match by id; `unanswered` are
    /// records (by name and run) whose creation never got a reply.
    public func forget(driver: String, kind: String, ids: [String], unanswered: [(name: String, run: String?)] = []) throws {
        guard !ids.isEmpty || !unanswered.isEmpty else { return }
        let idSet = Set(ids)
        try update { state in
            guard var list = state.resources else { return }
            list.removeAll { r in
                guard r.driver == driver && r.kind == kind else { return false }
                if let id = r.id { return idSet.contains(id) }
                return unanswered.contains { $0.name == r.name && $0.run == r.run }
            }
            state.resources = list
        }
    }

    /// Drops the records of `driver` for which `keep` says false (their resource is gone).
    public func prune(driver: String, keep: (ResourceRecord) -> Bool) throws {
        try update { state in
            guard let list = state.resources else { return }
            state.resources = list.filter { $0.driver != driver || keep($0) }
        }
    }
}
