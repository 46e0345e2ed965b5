import Glibc

/// A terminal in raw mode for the length of a console session: every key reaches the guest
/// as typed (Ctrl-C too), nothing is echoed twice. Restored as it was, whatever happened.
struct RawTerminal {
    private let fd: Int32
    private let saved: termios

    /// nil when `fd` is not a terminal (a pipe in a script): then nothing needs changing.
    init?(fd: Int32) {
        guard isatty(fd) == 1 else { return nil }
        var attributes = termios()
        guard tcgetattr(fd, &attributes) == 0 else { return nil }
        self.fd = fd
        saved = attributes
        cfmakeraw(&attributes)
        tcsetattr(fd, TCSANOW, &attributes)
    }

    func restore() {
        var attributes = saved
        tcsetattr(fd, TCSANOW, &attributes)
    }
}
