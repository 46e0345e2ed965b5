import Glibc
import Testing

@testable import Systemd

@Suite("Exit decoding")
struct ExitDecodingTests {
    @Test("ExecMainCode/ExecMainStatus decode by the CLD_* code, as waitid(2) reports them",
          arguments: [
            (Int32(CLD_EXITED), Int32(0), TransientResult.Exit.exited(0)),
            (Int32(CLD_EXITED), 3, .exited(3)),
            (Int32(CLD_KILLED), SIGKILL, .signaled(SIGKILL)),
            (Int32(CLD_DUMPED), SIGSEGV, .signaled(SIGSEGV)),
            (0, 0, .unknown),  // never ran
            (Int32(CLD_STOPPED), SIGSTOP, .unknown),
          ])
    func decode(code: Int32, status: Int32, exit: TransientResult.Exit) {
        #expect(TransientResult.Exit(code: code, status: status) == exit)
    }

    @Test("the shell's status: the exit code, or 128 + the signal")
    func shellStatus() {
        #expect(TransientResult(unit: "u.service", result: "exit-code", exit: .exited(3)).exitStatus == 3)
        #expect(TransientResult(unit: "u.service", result: "signal", exit: .signaled(9)).exitStatus == 137)
        #expect(TransientResult(unit: "u.service", result: "success", exit: .unknown).exitStatus == 0)
        #expect(TransientResult(unit: "u.service", result: "timeout", exit: .unknown).exitStatus == 1)
    }
}
