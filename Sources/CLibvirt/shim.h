#ifndef HVCTL_CLIBVIRT_SHIM_H
#define HVCTL_CLIBVIRT_SHIM_H
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#endif
