// The Hooks module: DevStack's extras.d contract (NN-name.sh scripts, their phases and order),
// each hook call run as its own systemd transient unit through the Systemd module.
// Built by the hooks issue; the foundation only lays the module down so the layout is fixed.
import Systemd

/// The slice every hvctl transient unit runs in, so `systemctl stop hvctl.slice` (or hvctl's
/// own cleanup) reaches all of them.
public let hvctlSlice = "hvctl.slice"
