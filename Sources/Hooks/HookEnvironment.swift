import FoundationEssentials
import Glibc

/// The rules for variables hvctl hands to hooks (`--env`, `[hook_env]`): shell names only,
/// and none that change how the hook's shell itself starts. A value of BASH_ENV or ENV is a
/// file bash sources before the hook, SHELLOPTS/BASHOPTS turn options on, PS4 is expanded
/// (command substitution included) on every xtrace line, IFS re-splits every word, and LD_*
/// load libraries into bash: each would run code nobody reviewed as the hook's user (root).
public enum HookEnvironment {
    public static let forbidden: Set<String> = ["BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "IFS"]

    /// nil when `name` may be given to hooks; else why not, in words a user can act on.
    public static func problem(with name: some StringProtocol) -> String? {
        guard isShellName(name) else {
            return "'\(name)' is not a shell variable name (letters, digits and '_', not starting with a digit)"
        }
        if forbidden.contains(String(name)) || name.hasPrefix("LD_") {
            return "\(name) changes how every hook's shell starts (it could run or load code before the hook), so hvctl never passes it"
        }
        return nil
    }

    public static func isShellName(_ s: some StringProtocol) -> Bool {
        guard let first = s.utf8.first, !(48...57).contains(first) else { return false }
        return s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 }
    }

    /// nil when `user` can run hooks; else why not. An empty name (an unset variable in a
    /// script, `--user "$HOOK_USER"`) is refused: it must never mean root.
    public static func userProblem(_ user: String) -> String? {
        if user.isEmpty { return "it is empty (an unset variable?); leave --user out to run hooks as root" }
        let ok = user.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 || $0 == 45 || $0 == 46 }
        guard ok, user.utf8.first != 45, user.utf8.count <= 32 else { return "not a user name" }
        guard getpwnam(user) != nil else { return "no such user on this host" }
        return nil
    }
}
