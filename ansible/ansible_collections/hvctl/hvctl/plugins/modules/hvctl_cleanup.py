#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hvctl contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hvctl_cleanup
short_description: Remove everything carrying hvctl's mark with hvctl cleanup
description:
  - Runs C(hvctl cleanup [DRIVER] -o json) on the target host and returns hvctl's report as the result.
  - Without I(driver), every driver whose daemon is reachable and the host (hvctl's transient units, stale files
    under C(/run/hvctl), leases of runs that died) are cleaned at the same time; with I(driver), only that driver's
    resources. Only what carries hvctl's mark B(and) is on hvctl's record goes; what belongs to an hvctl command
    still running is never touched.
  - C(changed) is hvctl's own C(changed), true when it removed something (its C(removedCount)) or settled a run
    that had died (C(reapedRuns)). With an hvctl older than that field, the module derives it the same way.
  - hvctl exits non-zero, and the module fails with its one-line message, when something failed, when a marked
    item remains (an image other containers use, what a live run owns), or when a driver's daemon is installed but
    stopped unless I(ignore_unreachable=true).
version_added: 0.1.0
author:
  - hvctl contributors (@hvctl)
options:
  driver:
    description:
      - Only this driver (C(docker), C(podman), C(libvirt), C(fake)). Default, every driver and the host.
    type: str
  ignore_unreachable:
    description:
      - Succeed even if a driver's daemon is installed but not running (its resources are not looked at).
    type: bool
    default: false
extends_documentation_fragment:
  - hvctl.hvctl.hvctl
notes:
  - Check mode runs C(hvctl cleanup --dry-run -o json), which removes nothing and lists what would go; C(changed)
    is then whether anything would.
seealso:
  - module: hvctl.hvctl.hvctl_stack
'''

EXAMPLES = r'''
- name: After a CI job, remove every container, domain and unit hvctl made
  hvctl.hvctl.hvctl_cleanup:
    ignore_unreachable: true
  become: true

- name: Only Docker's
  hvctl.hvctl.hvctl_cleanup:
    driver: docker
  become: true
  register: cleanup

- name: Say how much went
  ansible.builtin.debug:
    msg: "{{ cleanup.removedCount }} items removed"
'''

RETURN = r'''
dryRun:
  description: Whether this was a dry run (check mode).
  returned: always
  type: bool
run:
  description: The run cleaned up (a reaper's), or null for every run.
  returned: always
  type: str
drivers:
  description: One report per driver looked at, as hvctl gives it (driver, removed by kind, kept, spared,
    unmarked counts, unreachable, timings).
  returned: always
  type: list
  elements: dict
units:
  description: hvctl's transient units removed, spared (a live run's) and failed.
  returned: always
  type: dict
files:
  description: Stale files removed.
  returned: always
  type: list
  elements: str
failures:
  description: What could not be done, one line each.
  returned: always
  type: list
  elements: str
reapedRuns:
  description: Runs that had died unfinished and were settled.
  returned: always
  type: list
  elements: str
remaining:
  description: Marked items still there (kept, spared for a live run, or failed to go).
  returned: always
  type: list
  elements: str
unreachable:
  description: Drivers whose daemon could not be looked at, one line each.
  returned: always
  type: list
  elements: str
removedCount:
  description: How many items were removed (or, in check mode, would be).
  returned: always
  type: int
  sample: 3
cmd:
  description: The hvctl command line that was run.
  returned: always
  type: list
  elements: str
rc:
  description: hvctl's exit status.
  returned: always
  type: int
stderr:
  description: What hvctl said on stderr.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hvctl.hvctl.plugins.module_utils.hvctl import Hvctl, HvctlError, common_argument_spec


def changed(report):
    # A dry run changed nothing (hvctl says changed false); check mode asks what it would change.
    if report.get('dryRun') or 'changed' not in report:
        return bool(report.get('removedCount')) or bool(report.get('reapedRuns'))
    return bool(report['changed'])


def main():
    module = AnsibleModule(
        argument_spec=common_argument_spec(
            driver=dict(type='str'),
            ignore_unreachable=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    args = ['cleanup'] + ([params['driver']] if params['driver'] else [])
    if params['ignore_unreachable']:
        args.append('--ignore-unreachable')
    if module.check_mode:
        args.append('--dry-run')
    hvctl = Hvctl(module)
    try:
        report, result = hvctl.json(args + ['-o', 'json'])
    except HvctlError as e:
        # What went before the failure went: changed says so.
        hvctl.fail(e, changed=changed(e.result) and not module.check_mode)
    result['changed'] = changed(report)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
