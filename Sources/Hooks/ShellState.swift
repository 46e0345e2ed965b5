import Core
import FoundationEssentials
import Glibc
import SystemPackage

/// DevStack mode: the shell state stack.sh keeps in its one bash process, carried from unit to
/// unit. Every call sources the prelude first, which loads the state the call before it left
/// and, when the call's shell exits, writes the call's own for the next one. The files live
/// in a directory of the run's own (mode 0700, owned by the hooks' user: a --user hook writes
/// it, and nobody else can read what it holds, passwords included).
public actor ShellState {
    public nonisolated let directory: String
    /// The state the next call starts from; nil before the first call.
    public private(set) var current: String?
    private var written = 0

    /// The last line of a complete state: a call killed while writing leaves none, and its
    /// half-written file is never loaded.
    public static let endMarker = "# hvctl: end of state"

    init(directory: String) {
        self.directory = directory
    }

    /// Makes the run's directory under `RuntimePaths.directory()/shell`, root's and mode 0700
    /// until `hand(to:)`. It must not exist yet: only root can make entries there.
    public static func create(name: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ShellState {
        let parent = try RuntimePaths.prepare(RuntimePaths.directory(environment) + "/shell", purpose: "keep the hooks' shell state")
        let path = parent + "/" + name
        guard mkdir(path, 0o700) == 0 else {
            throw HookError.unwritable(path: path, reason: "the run's shell state directory: \(Errno.current.description)")
        }
        return ShellState(directory: path)
    }

    /// Gives the directory to the hooks' user (root keeps it when nil). Whatever root puts in
    /// it goes in before this: afterwards the user can swap any entry for a link.
    public nonisolated func hand(to user: String?) throws {
        guard let user, let entry = getpwnam(user) else { return }
        let uid = entry.pointee.pw_uid
        let gid = entry.pointee.pw_gid
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0, fchown(fd, uid, gid) == 0 else {
            let reason = Errno.current.description
            if fd >= 0 { close(fd) }
            throw HookError.unwritable(path: directory, reason: "cannot give it to \(user): \(reason)")
        }
        close(fd)
    }

    /// Where the next call writes its state.
    func nextOutput() -> String {
        written += 1
        return directory + "/state.\(written)"
    }

    /// After a call: its state becomes the next call's if it wrote a complete one. false when
    /// it left none (it replaced hvctl's EXIT trap, exec'd, or was killed while writing).
    @discardableResult
    func adopt(_ output: String) -> Bool {
        guard Self.isComplete(output) else {
            unlink(output)
            return false
        }
        // The state before is nobody's start any more: /run is memory.
        if let previous = current { unlink(previous) }
        current = output
        return true
    }

    public static func isComplete(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return false }
        let tail = Array(endMarker.utf8) + [10]
        guard st.st_size >= tail.count else { return false }
        var buffer = [UInt8](repeating: 0, count: tail.count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, tail.count, off_t(st.st_size) - off_t(tail.count)) }
        return n == tail.count && buffer == tail
    }

    /// Removes the directory and what hvctl and the calls put in it: files, links, and
    /// directories one level down (the function bodies), never following a link — every
    /// step is relative to a descriptor already open, so a --user hook that owns the
    /// directory cannot swap a subdirectory for a link to somewhere else in between.
    public nonisolated func remove() {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return }
        for name in Self.entries(fd) {
            if unlinkat(fd, name, 0) == 0 || errno != EISDIR { continue }
            let sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard sub >= 0 else { continue }
            for inner in Self.entries(sub) { unlinkat(sub, inner, 0) }
            close(sub)
            unlinkat(fd, name, AT_REMOVEDIR)
        }
        close(fd)
        rmdir(directory)
    }

    /// Removes every shell state directory of `run` (its name, or its name and a suffix: the
    /// old driver's environment in a switch, clean's second one).
    public static func removeAll(of run: String, runtimeDirectory: String) {
        let parent = runtimeDirectory + "/shell"
        guard let names = try? DirectoryListing.names(of: parent) else { return }
        for name in names where name == run || name.hasPrefix(run + "-") {
            ShellState(directory: parent + "/" + name).remove()
        }
    }

    /// The names in the directory `fd` is open on (a duplicate is read, `fd` stays open).
    static func entries(_ fd: Int32) -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            return []
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The prelude every DevStack-mode call sources first (hvctl's code, in the runtime
    /// directory).
    public static func prelude(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> RuntimeScript {
        RuntimeScript(path: RuntimePaths.directory(environment) + "/devstack-shell.sh", text: preludeText)
    }

    /// Per call, never carried: bash's own variables, the ones systemd sets for each unit,
    /// and the ones hvctl sets for each call.
    static let preludeText = #"""
        # hvctl: DevStack's shell state, carried from unit to unit.
        # stack.sh runs every hook in one bash process, so what one call defines the next one sees.
        # hvctl runs each call as its own unit: this file loads the state the call before left
        # ($HVCTL_STATE_IN) and, when the call's shell exits, writes its own ($HVCTL_STATE_OUT):
        # every variable with its attributes, and every function.
        if [[ -n ${HVCTL_STATE_IN:-} ]]; then
            # bash's read-only variables refuse their old values, as they should, and say so:
            # quietly, then. A state that stopped loading half-way (its last line never ran) is
            # loaded again for bash to say what is wrong, and the call fails.
            source "$HVCTL_STATE_IN" 2>/dev/null
            if [[ ${__hvctl_state_loaded:-} != yes ]]; then
                echo "hvctl: the shell state $HVCTL_STATE_IN did not load; bash says:" >&2
                source "$HVCTL_STATE_IN" >/dev/null
                exit 1
            fi
            unset __hvctl_state_loaded
        fi

        __hvctl_save_state() {
            # Silent under a hook's xtrace: its state is not its output.
            { local __hvctl_status=$?; set +o xtrace; } 2>/dev/null
            set +o errexit +o nounset
            [[ -n ${HVCTL_STATE_OUT:-} ]] || return $__hvctl_status
            local __hvctl_out=$HVCTL_STATE_OUT
            # The shell is on its way out: what must not reach the next call is unset here, in
            # one builtin, and bash's read-only variables that stay are refused (silently)
            # when the next call loads the state. One `declare -p` is ten times faster than
            # a loop over the names.
            unset -v ${!BASH*} ${!COMP_*} ${!MEMORY_PRESSURE_*} EPOCHSECONDS EPOCHREALTIME SRANDOM RANDOM SECONDS \
                LINENO HISTCMD PIPESTATUS DIRSTACK FUNCNAME GROUPS OPTIND OPTARG OPTERR PWD OLDPWD SHLVL _ \
                INVOCATION_ID JOURNAL_STREAM SYSTEMD_EXEC_PID MAINPID \
                HVCTL_MODE HVCTL_PHASE HVCTL_HOOK HVCTL_JOB HVCTL_STATE_IN HVCTL_STATE_OUT HVCTL_PRELUDE \
                HVCTL_VERB HVCTL_HYPERVISOR_SCRIPT HVCTL_CHECKED_NOVA_CONF HVCTL_MERGE_TARGETS 2>/dev/null
            {
                declare -p
                declare -f
                declare -Fx
                echo '__hvctl_state_loaded=yes'
                echo '# hvctl: end of state'
            } >"$__hvctl_out"
            return $__hvctl_status
        }
        trap __hvctl_save_state EXIT
        """# + "\n"
}
