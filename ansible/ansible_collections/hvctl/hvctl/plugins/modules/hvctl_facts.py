#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hvctl contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hvctl_facts
short_description: Gather hvctl's view of the host into ansible_facts.hvctl
description:
  - Runs, each with C(-o json), C(hvctl doctor), C(hvctl status), C(hvctl drivers) and C(hvctl instance list) on the
    target host, and C(hvctl --version), and sets C(ansible_facts.hvctl) from their JSON. None of them starts or
    changes anything.
  - A command that fails (say, C(instance list) when the driver's daemon is down) does not fail the module; its
    one-line message goes in C(ansible_facts.hvctl.errors) under its name and its fact is null.
    C(hvctl doctor) exits 1 when a check the driver needs fails; its report is still gathered.
version_added: 0.1.0
author:
  - hvctl contributors (@hvctl)
options:
  gather:
    description:
      - Which facts to gather.
    type: list
    elements: str
    choices: [doctor, status, drivers, instances]
    default: [doctor, status, drivers, instances]
  driver:
    description:
      - The driver C(doctor) checks for, C(status) shows and C(instance list) lists
        (default, as hvctl chooses, the active driver or C($VIRT_DRIVER); C(doctor) defaults to libvirt's needs).
    type: str
extends_documentation_fragment:
  - hvctl.hvctl.hvctl
attributes:
  facts:
    description: Sets C(ansible_facts.hvctl).
    support: full
notes:
  - Supports check mode (it only looks).
seealso:
  - module: hvctl.hvctl.hvctl_instance
'''

EXAMPLES = r'''
- name: What hvctl sees
  hvctl.hvctl.hvctl_facts:
    driver: docker
  become: true

- name: Fail when Docker is not healthy
  ansible.builtin.assert:
    that: ansible_facts.hvctl.doctor.healthy
    fail_msg: "{{ ansible_facts.hvctl.doctor.checks | selectattr('status', 'equalto', 'fail') | list }}"

- name: The instances
  ansible.builtin.debug:
    msg: "{{ ansible_facts.hvctl.instances | map(attribute='name') | list }}"
'''

RETURN = r'''
ansible_facts:
  description: The facts.
  returned: always
  type: dict
  contains:
    hvctl:
      description: What hvctl reported.
      type: dict
      contains:
        version:
          description: C(hvctl --version).
          type: str
          sample: 0.1.0
        doctor:
          description: C(hvctl doctor -o json) - C(driver), C(driverSource), C(healthy) and C(checks) (each
            C(name), C(status), C(detail), C(fix), C(required)); null if not gathered or it failed.
          type: dict
        status:
          description: C(hvctl status -o json) - C(active), C(selected), C(selectedFrom) and C(status) (C(driver),
            C(installed), C(configured), C(running), C(version), C(instances), C(detail)).
          type: dict
        drivers:
          description: C(hvctl drivers -o json) - C(active), C(drivers) (each as C(status) above), C(scripts)
            and C(refused).
          type: dict
        instances:
          description: C(hvctl instance list -o json) - each instance's C(name), C(driver), C(id), C(state),
            C(image), C(run), C(address).
          type: list
          elements: dict
        errors:
          description: For each gathered fact whose command failed, hvctl's one-line message.
          type: dict
          sample: {"instances": "docker is not running"}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hvctl.hvctl.plugins.module_utils.hvctl import Hvctl, HvctlError, common_argument_spec

ALL = ['doctor', 'status', 'drivers', 'instances']


def commands(driver):
    """Each fact's command and the exit statuses that still carry its JSON."""
    return dict(
        doctor=(['doctor'] + (['--driver', driver] if driver else []), (0, 1)),
        status=(['status'] + ([driver] if driver else []), (0,)),
        drivers=(['drivers'], (0,)),
        instances=(['instance', 'list'] + (['--driver', driver] if driver else []), (0,)),
    )


def main():
    module = AnsibleModule(
        argument_spec=common_argument_spec(
            gather=dict(type='list', elements='str', choices=ALL, default=ALL),
            driver=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    hvctl = Hvctl(module)
    facts = dict((name, None) for name in ALL)
    errors = {}
    rc, out, err, dummy = hvctl.run(['--version'])
    facts['version'] = out.strip() if rc == 0 else None
    for name, (args, ok) in commands(module.params['driver']).items():
        if name not in module.params['gather']:
            continue
        try:
            facts[name], dummy = hvctl.json(args + ['-o', 'json'], ok_codes=ok)
        except HvctlError as e:
            errors[name] = e.msg
    facts['errors'] = errors
    module.exit_json(changed=False, ansible_facts=dict(hvctl=facts))


if __name__ == '__main__':
    main()
