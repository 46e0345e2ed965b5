import Core

/// Why hooks could not be run; each names the file and what to do.
public enum HookError: Error, Equatable, Sendable, CustomStringConvertible {
    case directoryMissing(String)
    case notADirectory(String)
    case unreadable(path: String, reason: String)
    /// hvctl's own file for the hooks (the runtime script, a run's shell state) could not be made.
    case unwritable(path: String, reason: String)
    case malformedName(path: String, reason: String)
    case reservedPrefix(path: String, order: Int)
    case notAFile(path: String, kind: String)
    case unitNameTooLong(hook: String, unit: String)
    case invalidEnvironment(String)
    case forbiddenEnvironment(name: String, reason: String)
    case invalidUser(String, reason: String)
    case invalidPhase(mode: String, phase: String?)

    public var description: String {
        // A file name may hold a newline or other control bytes; shown raw, they would split
        // or garble the one-line error (and the FAIL line and the state's run record).
        func shown(_ text: String) -> String { OneLine.escaping(text) }
        switch self {
        case .directoryMissing(let dir):
            return "the extras.d directory \(shown(dir)) does not exist (create it, or pass --extras-dir)"
        case .notADirectory(let path):
            return "\(shown(path)) is not a directory (pass --extras-dir with the extras.d directory)"
        case .unreadable(let path, let reason):
            return "cannot read \(shown(path)): \(reason)"
        case .unwritable(let path, let reason):
            return "cannot write \(shown(path)): \(reason)"
        case .malformedName(let path, let reason):
            return "\(shown(path)) is not a valid hook name: \(reason); rename it to NN-name.sh (NN 10-89) or so it no longer ends in .sh"
        case .reservedPrefix(let path, let order):
            return "\(shown(path)) uses the order prefix \(order < 10 ? "0" : "")\(order), which is reserved (00-09 and 90-99 belong to hvctl); use 10-89"
        case .notAFile(let path, let kind):
            return "\(shown(path)) has a hook's name but is \(kind); hooks must be regular files"
        case .unitNameTooLong(let hook, let unit):
            return "the unit name for hook \(hook) would be \(unit.utf8.count) bytes, past systemd's 255; shorten the hook's name"
        case .invalidEnvironment(let entry):
            return "invalid --env '\(shown(entry))': expected NAME=VALUE with NAME of letters, digits and '_', not starting with a digit"
        case .forbiddenEnvironment(let name, let reason):
            return "refusing --env \(shown(name)): \(reason)"
        case .invalidUser(let user, let reason):
            return "invalid --user '\(shown(user))': \(reason)"
        case .invalidPhase(let mode, let phase):
            let allowed = "stack pre-install|install|post-config|extra|test-config, unstack, clean"
            if let phase { return "'\(shown(mode)) \(shown(phase))' is not a hook call; use one of: \(allowed)" }
            return "'\(shown(mode))' is not a hook call; use one of: \(allowed)"
        }
    }
}
