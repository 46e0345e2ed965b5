/// How an instance's output is read: the serial console of a VM, the logs of a container.
public struct InstanceOutput: Sendable, Equatable {
    /// The last `lines` lines only; nil: everything kept.
    public var lines: Int?
    /// Keep reading as more comes, until the instance ends or the command is interrupted.
    public var follow: Bool

    public init(lines: Int? = nil, follow: Bool = false) {
        self.lines = lines
        self.follow = follow
    }
}
