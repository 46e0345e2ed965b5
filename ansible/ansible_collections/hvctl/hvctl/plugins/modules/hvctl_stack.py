#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hvctl contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hvctl_stack
short_description: Stack, unstack, clean or switch a hypervisor driver with hvctl
description:
  - Runs hvctl's flows on the target host with C(-o json) and returns hvctl's JSON as the result.
  - I(state=stacked) runs C(hvctl start DRIVER), hvctl's idempotent stack (DevStack's stack.sh with
    the extras.d hooks when the driver is not up; when it is up (stacked by hvctl and running), a
    no-op that makes it the active driver and runs no hooks, reported C(changed=false) unless another
    driver was the active one). A daemon that runs
    but that hvctl never stacked (Docker as Debian starts it) gets the whole stack. With I(restack=true) it runs C(hvctl stack) instead,
    which runs every step and hook again each time.
  - I(state=unstacked) runs C(hvctl unstack) (hooks unstack, then the driver's stop); when the driver is
    neither up nor running it runs nothing and reports C(changed=false).
    I(state=cleaned) runs C(hvctl clean) (unstack, hooks clean, then the driver's cleanup).
  - I(state=switched) runs C(hvctl switch DRIVER) (unstack the active driver, stack DRIVER, rolling back
    to the old driver if a step fails). When DRIVER is already the active driver and up, the module
    runs nothing and reports C(changed=false) (hvctl itself would stack it again).
  - C(changed) is hvctl's own C(changed) field; a failure's C(msg) is hvctl's one-line message.
version_added: 0.1.0
author:
  - hvctl contributors (@hvctl)
options:
  state:
    description:
      - What the driver should be. See the description for the hvctl command each state runs.
    type: str
    choices: [stacked, unstacked, cleaned, switched]
    default: stacked
  driver:
    description:
      - The driver (C(docker), C(podman), C(libvirt), C(fake), a DevStack hypervisor script's name, or C(script:NAME)).
      - Required for I(state=switched), and for I(state=stacked) unless I(restack=true).
      - Without it, hvctl takes C($VIRT_DRIVER), else the active driver, else hvctl.conf's C(virt_driver), else C(libvirt).
    type: str
  top_dir:
    description:
      - TOP_DIR for the hooks (C(--top-dir)); a DevStack checkout puts hvctl in DevStack mode.
    type: path
  extras_dir:
    description:
      - The extras.d directory of the hooks (C(--extras-dir)); default C(/etc/hvctl/extras.d) or hvctl.conf's.
    type: path
  env:
    description:
      - Variables given to every hook, each passed as C(--env NAME=VALUE). Names must be shell names.
    type: dict
    default: {}
  hook_timeout:
    description:
      - Seconds a hook may run before it is killed with its children (C(--hook-timeout)).
    type: int
  hook_user:
    description:
      - Run the hooks as this user instead of root (C(--user)).
    type: str
  restack:
    description:
      - With I(state=stacked), run C(hvctl stack) (every step and hook, every time) rather than C(hvctl start).
    type: bool
    default: false
  clean:
    description:
      - With I(state=switched), also clean the old driver (C(hvctl switch --clean)).
    type: bool
    default: false
  no_wait:
    description:
      - Fail at once when another hvctl command is changing the host instead of waiting for its lock (C(--no-wait)).
    type: bool
    default: false
extends_documentation_fragment:
  - hvctl.hvctl.hvctl
notes:
  - Check mode runs the same command with C(--dry-run -o json) and returns hvctl's C(plan). hvctl's plan does not
    say whether each step would change the host, so C(changed) is predicted from C(hvctl status DRIVER -o json)
    and the plan. I(state=stacked) would change when the driver is not up (C(up) in C(hvctl status -o json), stacked by
    hvctl and running), or always, with I(restack=true);
    I(state=unstacked) and I(state=cleaned) would change when the plan runs a hook unit or the driver is running;
    I(state=switched) would change unless DRIVER is already active and up.
  - "A C(hvctl stack) (I(restack=true)) always reports C(changed=true): its install and configure steps
    report C(changed: null) (they cannot tell), which hvctl counts as a change."
seealso:
  - module: hvctl.hvctl.hvctl_cleanup
  - module: hvctl.hvctl.hvctl_facts
'''

EXAMPLES = r'''
- name: Bring Docker up with the hooks in /etc/hvctl/extras.d
  hvctl.hvctl.hvctl_stack:
    driver: docker
    env:
      ENABLED_SERVICES: n-cpu
  become: true

- name: Switch the host to libvirt, cleaning the old driver
  hvctl.hvctl.hvctl_stack:
    state: switched
    driver: libvirt
    clean: true
  become: true

- name: Clean up the active driver like DevStack's clean.sh
  hvctl.hvctl.hvctl_stack:
    state: cleaned
  become: true
  register: cleaned

- name: Show each step
  ansible.builtin.debug:
    msg: "{{ cleaned.steps | map(attribute='name') | zip(cleaned.steps | map(attribute='outcome')) | list }}"
'''

RETURN = r'''
flow:
  description: The flow hvctl ran (C(stack), C(unstack), C(clean), C(switch)); C(stack) for C(hvctl start).
  returned: always
  type: str
  sample: stack
driver:
  description: The driver the flow ran for.
  returned: when hvctl ran a flow (not for I(state=switched))
  type: str
  sample: docker
run:
  description: hvctl's run id (the journal, C(hvctl logs --run RUN)).
  returned: when hvctl ran a flow, not in check mode
  type: str
  sample: 20261205-083512-4f2a
succeeded:
  description: Whether every step succeeded.
  returned: when hvctl ran, not in check mode
  type: bool
error:
  description: hvctl's one-line message for the failed step, or null.
  returned: when hvctl ran, not in check mode
  type: str
steps:
  description: Each step as it ran, in order.
  returned: when hvctl ran a flow (not for I(state=switched)), not in check mode
  type: list
  elements: dict
  contains:
    name:
      description: The step (C(hooks stack pre-install), C(install), C(start), ...).
      type: str
    outcome:
      description: C(done), C(failed), C(interrupted) or C(not-run).
      type: str
    detail:
      description: Why it failed or did not run, in one line; null when done.
      type: str
    seconds:
      description: How long it took.
      type: float
    changed:
      description: Whether it changed the host; null when the step cannot tell (install, configure).
      type: bool
    hooks:
      description: The hooks the step ran, each as hvctl reports it.
      type: list
      elements: dict
from:
  description: I(state=switched) - the driver that was active before.
  returned: I(state=switched), not in check mode
  type: str
to:
  description: I(state=switched) - the driver switched to.
  returned: I(state=switched), not in check mode
  type: str
rolledBackTo:
  description: I(state=switched) - the old driver, stacked again after the new one failed; null otherwise.
  returned: I(state=switched), not in check mode
  type: str
flows:
  description: I(state=switched) - each flow hvctl ran (the old driver's unstack or clean, the new driver's stack,
    the rollback), each with the keys of a flow above.
  returned: I(state=switched), not in check mode
  type: list
  elements: dict
dryRun:
  description: True in check mode.
  returned: check mode
  type: bool
plan:
  description: Check mode - each step hvctl would run and, indented, each hook unit it would start.
  returned: check mode
  type: list
  elements: str
  sample: ["hooks stack pre-install", "  unit hvctl-RUN-stack-pre-install-20-hello.service", "install"]
cmd:
  description: The hvctl command line that was run.
  returned: when hvctl ran
  type: list
  elements: str
rc:
  description: hvctl's exit status.
  returned: when hvctl ran
  type: int
stderr:
  description: hvctl's progress lines (with C(-o json) they go to stderr).
  returned: when hvctl ran
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hvctl.hvctl.plugins.module_utils.hvctl import (
    Hvctl, HvctlError, common_argument_spec, driver_status, env_args,
)


def flow_command(params):
    """The hvctl command for the wanted state, without -o/--dry-run."""
    state = params['state']
    driver = [params['driver']] if params['driver'] else []
    if state == 'stacked':
        args = ['stack' if params['restack'] else 'start'] + driver
    elif state == 'unstacked':
        args = ['unstack'] + driver
    elif state == 'cleaned':
        args = ['clean'] + driver
    else:
        args = ['switch'] + driver + (['--clean'] if params['clean'] else [])
    if params['extras_dir']:
        args += ['--extras-dir', params['extras_dir']]
    if params['top_dir']:
        args += ['--top-dir', params['top_dir']]
    if params['hook_timeout'] is not None:
        args += ['--hook-timeout', str(params['hook_timeout'])]
    if params['hook_user']:
        args += ['--user', params['hook_user']]
    if params['no_wait']:
        args.append('--no-wait')
    return args + env_args(params['env'])


def is_up(status):
    """hvctl's `up`: stacked by hvctl and running (an hvctl before `up` existed: running)."""
    inner = status.get('status') or {}
    return bool(status.get('up', inner.get('running')))


def is_down(status):
    """Neither stacked by hvctl nor running: an unstack has nothing to do."""
    inner = status.get('status') or {}
    return not is_up(status) and not inner.get('running')


def is_active_and_running(status):
    inner = status.get('status') or {}
    return is_up(status) and status.get('active') == inner.get('driver')


# state -> (whether the driver is already so, the flow, why nothing ran, the result's own fields;
# None stands for the driver's name).
NOTHING_TO_DO = dict(
    switched=(is_active_and_running, 'switch', '%s is already the active driver and up', dict(to=None, flows=[])),
    unstacked=(is_down, 'unstack', '%s is neither stacked nor running', dict(driver=None, steps=[])),
)


def predicted_change(params, plan, status):
    """Check mode: whether the real run would change the host (hvctl's plan does not say)."""
    state = params['state']
    running = bool((status.get('status') or {}).get('running'))
    if state == 'stacked':
        return params['restack'] or not is_active_and_running(status)
    if state == 'unstacked' and is_down(status):
        return False
    if state == 'switched':
        return not is_active_and_running(status)
    hook_units = any(line.strip().startswith('unit ') for line in plan)
    return hook_units or running


def main():
    module = AnsibleModule(
        argument_spec=common_argument_spec(
            state=dict(type='str', default='stacked', choices=['stacked', 'unstacked', 'cleaned', 'switched']),
            driver=dict(type='str'),
            top_dir=dict(type='path'),
            extras_dir=dict(type='path'),
            env=dict(type='dict', default={}),
            hook_timeout=dict(type='int'),
            hook_user=dict(type='str'),
            restack=dict(type='bool', default=False),
            clean=dict(type='bool', default=False),
            no_wait=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    state = params['state']
    if not params['driver'] and (state == 'switched' or (state == 'stacked' and not params['restack'])):
        module.fail_json(msg='driver is required for state=%s%s' % (state, ' (or restack=true)' if state == 'stacked' else ''))

    hvctl = Hvctl(module)
    args = flow_command(params)
    try:
        if state in NOTHING_TO_DO:
            # What hvctl would run again (a switch stacks the driver anew; an unstack runs its
            # hooks), the module skips when the driver is already as wanted.
            holds, flow, why, fields = NOTHING_TO_DO[state]
            status = driver_status(hvctl, params['driver'])
            if holds(status):
                name = status['status']['driver']
                result = dict(changed=False, flow=flow, succeeded=True, error=None, msg=why % name)
                result.update((key, name if value is None else value) for key, value in fields.items())
                module.exit_json(**result)
        if module.check_mode:
            payload, result = hvctl.json(args + ['--dry-run', '-o', 'json'])
            if state != 'switched':
                status = driver_status(hvctl, payload.get('driver') or params['driver'])
            result['changed'] = predicted_change(params, payload.get('plan') or [], status)
            module.exit_json(**result)
        payload, result = hvctl.json(args + ['-o', 'json'])
    except HvctlError as e:
        hvctl.fail(e)
    result['changed'] = bool(payload.get('changed'))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
