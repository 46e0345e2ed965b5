#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hvctl contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hvctl_instance
short_description: Launch or delete an hvctl instance (a container or a VM)
description:
  - Looks the instance up with C(hvctl instance list -o json), then runs C(hvctl instance launch NAME -o json)
    when it should be present and is not, or C(hvctl instance delete NAME) when it should be absent and is there.
  - Idempotent by name. An instance that is already there is left as it is (C(changed=false)) even if it was
    launched with other settings; delete it first to launch it anew.
  - On docker and podman an instance is a container named exactly NAME; on libvirt, a VM.
version_added: 0.1.0
author:
  - hvctl contributors (@hvctl)
options:
  name:
    description:
      - The instance's name (letters, digits, C(.), C(_) and C(-)).
    type: str
    required: true
  state:
    description:
      - Whether the instance should exist.
    type: str
    choices: [present, absent]
    default: present
  driver:
    description:
      - The driver (C(--driver)); default, the active driver.
    type: str
  image:
    description:
      - At launch, the container image, or on libvirt a qcow2 or raw disk image to boot on an overlay
        (default, hvctl's base image or guest).
    type: str
  network:
    description:
      - At launch, the network to join (libvirt, C(none) for no interface).
    type: str
  memory:
    description:
      - At launch, memory in MiB.
    type: int
  vcpus:
    description:
      - At launch, virtual CPUs.
    type: int
  command:
    description:
      - At launch, for containers, the command to run (passed after C(--)).
    type: list
    elements: str
  wait:
    description:
      - With I(state=present), return only once the instance is ready (C(--wait) at launch, else
        C(hvctl instance wait) for one that was already there).
    type: bool
    default: false
  timeout:
    description:
      - With I(wait=true), seconds to wait (1 to 86400).
    type: int
    default: 300
extends_documentation_fragment:
  - hvctl.hvctl.hvctl
notes:
  - Check mode lists the instances and reports whether a launch or delete would happen; it launches, deletes and
    waits for nothing.
  - C(hvctl instance launch) and C(delete) have no C(--dry-run); check mode is the module's own, from C(hvctl instance
    list -o json).
seealso:
  - module: hvctl.hvctl.hvctl_facts
'''

EXAMPLES = r'''
- name: A container that sleeps, ready before the play goes on
  hvctl.hvctl.hvctl_instance:
    name: job
    driver: docker
    image: debian:12
    command: [sleep, "600"]
    wait: true
  become: true

- name: A VM booting hvctl's guest
  hvctl.hvctl.hvctl_instance:
    name: web
    driver: libvirt
    wait: true
    timeout: 120
  become: true

- name: Gone
  hvctl.hvctl.hvctl_instance:
    name: web
    driver: libvirt
    state: absent
  become: true
'''

RETURN = r'''
instance:
  description: The instance as hvctl reports it (after the launch or wait, or as listed); null when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    driver:
      description: Its driver.
      type: str
    id:
      description: The container id or the domain's UUID.
      type: str
    state:
      description: C(running), C(exited), C(shutoff), ...
      type: str
    image:
      description: What it runs.
      type: str
    run:
      description: The hvctl run that created it.
      type: str
    address:
      description: Its IPv4 address with prefix, when it has one.
      type: str
  sample: {"name": "job", "driver": "docker", "id": "4f2a9c", "state": "running", "image": "debian:12",
           "run": "20261205-083512-4f2a", "address": null}
deleted:
  description: What C(hvctl instance delete -o json) printed.
  returned: when I(state=absent) deleted the instance
  type: dict
  sample: {"name": "web", "driver": "docker", "deleted": true}
cmd:
  description: The last hvctl command line run.
  returned: always
  type: list
  elements: str
rc:
  description: Its exit status.
  returned: always
  type: int
stderr:
  description: What it said on stderr.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hvctl.hvctl.plugins.module_utils.hvctl import Hvctl, HvctlError, common_argument_spec


def driver_args(params):
    return ['--driver', params['driver']] if params['driver'] else []


def find(hvctl, params):
    """The instance named NAME from `hvctl instance list -o json`, or None; and the list's result."""
    listing, result = hvctl.json(['instance', 'list'] + driver_args(params) + ['-o', 'json'])
    for instance in listing or []:
        if isinstance(instance, dict) and instance.get('name') == params['name']:
            return instance, result
    return None, result


def launch_args(params):
    args = ['instance', 'launch', params['name']] + driver_args(params)
    for option in ('image', 'network', 'memory', 'vcpus'):
        if params[option] is not None:
            args += ['--' + option, str(params[option])]
    if params['wait']:
        args += ['--wait', '--timeout', str(params['timeout'])]
    args += ['-o', 'json']
    if params['command']:
        args += ['--'] + params['command']
    return args


def strip(result):
    """cmd, rc and stderr of a run, without hvctl's own fields."""
    return dict((k, result[k]) for k in ('cmd', 'rc', 'stderr') if k in result)


def main():
    module = AnsibleModule(
        argument_spec=common_argument_spec(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            driver=dict(type='str'),
            image=dict(type='str'),
            network=dict(type='str'),
            memory=dict(type='int'),
            vcpus=dict(type='int'),
            command=dict(type='list', elements='str'),
            wait=dict(type='bool', default=False),
            timeout=dict(type='int', default=300),
        ),
        supports_check_mode=True,
    )
    params = module.params
    hvctl = Hvctl(module)
    try:
        instance, listed = find(hvctl, params)
    except HvctlError as e:
        hvctl.fail(e, instance=None)

    if params['state'] == 'absent':
        if instance is None or module.check_mode:
            module.exit_json(changed=instance is not None, instance=instance, **strip(listed))
        try:
            gone, deleted = hvctl.json(['instance', 'delete', params['name']] + driver_args(params) + ['-o', 'json'])
        except HvctlError as e:
            hvctl.fail(e, instance=instance)
        module.exit_json(changed=bool(gone.get('deleted', True)), instance=None, deleted=gone, **strip(deleted))

    if instance is not None:
        if params['wait'] and not module.check_mode:
            args = ['instance', 'wait', params['name']] + driver_args(params) + ['--timeout', str(params['timeout']), '-o', 'json']
            try:
                instance, waited = hvctl.json(args)
            except HvctlError as e:
                hvctl.fail(e, instance=instance)
            module.exit_json(changed=False, instance=instance, **strip(waited))
        module.exit_json(changed=False, instance=instance, **strip(listed))

    if module.check_mode:
        module.exit_json(changed=True, instance=None, **strip(listed))
    try:
        instance, launched = hvctl.json(launch_args(params))
    except HvctlError as e:
        # A launch that made the instance and then failed (say, --wait timed out) did change the host.
        try:
            made, dummy = find(hvctl, params)
        except HvctlError:
            made = None
        hvctl.fail(e, changed=made is not None, instance=made)
    module.exit_json(changed=True, instance=instance, **strip(launched))


if __name__ == '__main__':
    main()
