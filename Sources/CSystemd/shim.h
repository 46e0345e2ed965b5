#ifndef HVCTL_CSYSTEMD_SHIM_H
#define HVCTL_CSYSTEMD_SHIM_H
#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>
#include <systemd/sd-id128.h>
#endif
