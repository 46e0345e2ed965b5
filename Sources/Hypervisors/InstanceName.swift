/// Instance names hvctl accepts on every driver: what Docker and libvirt both take.
public enum InstanceName {
    public static func validate(_ name: String) throws {
        guard let first = name.utf8.first, name.utf8.count <= 63 else {
            throw HypervisorError.invalidName(name, reason: "use 1 to 63 characters")
        }
        let alnum: (UInt8) -> Bool = { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
        guard alnum(first), name.utf8.allSatisfy({ alnum($0) || $0 == 45 || $0 == 46 || $0 == 95 }) else {
            throw HypervisorError.invalidName(name, reason: "use letters, digits, '.', '_' and '-', starting with a letter or digit")
        }
    }
}
