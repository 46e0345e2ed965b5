"""hvctl_stack against canned `hvctl start|stack|unstack|clean|switch -o json`."""


def flow(flow='stack', driver='docker', changed=True, succeeded=True, error=None, steps=None):
    return dict(flow=flow, driver=driver, run='r1', succeeded=succeeded, changed=changed, error=error,
                steps=steps if steps is not None else [
                    dict(name='install', outcome='done', detail=None, seconds=0.1, changed=None, hooks=[])])


def status(driver='docker', running=True, active='docker', up=None):
    return dict(active=active, selected=driver, selectedFrom='the DRIVER argument', up=running if up is None else up,
                status=dict(driver=driver, installed=True, configured=True, running=running, version='24', instances=0, detail=''))


def test_stacked_runs_start_and_takes_changed_from_hvctl(hvctl):
    hvctl.answer(['start', 'docker'], flow(changed=False, steps=[
        dict(name='start', outcome='done', detail=None, seconds=0, changed=False, hooks=[])]))
    result = hvctl.run('hvctl_stack', driver='docker', env={'B': 2, 'A': 'x y'}, extras_dir='/etc/x', top_dir='/opt/t')
    assert result['changed'] is False
    assert result['succeeded'] is True and result['run'] == 'r1' and result['steps'][0]['name'] == 'start'
    assert hvctl.calls() == [['start', 'docker', '--extras-dir', '/etc/x', '--top-dir', '/opt/t',
                              '--env', 'A=x y', '--env', 'B=2', '-o', 'json']]


def test_stacked_changed_true_when_hvctl_says_so(hvctl):
    hvctl.answer(['start', 'docker'], flow(changed=True))
    assert hvctl.run('hvctl_stack', driver='docker')['changed'] is True


def test_restack_runs_stack_without_a_driver(hvctl):
    hvctl.answer(['stack'], flow())
    result = hvctl.run('hvctl_stack', restack=True, hook_timeout=60, hook_user='stack', no_wait=True)
    assert result['changed'] is True
    assert hvctl.calls() == [['stack', '--hook-timeout', '60', '--user', 'stack', '--no-wait', '-o', 'json']]


def test_stacked_needs_a_driver(hvctl):
    result = hvctl.run('hvctl_stack')
    assert result['failed'] and 'driver is required' in result['msg']
    assert hvctl.calls() == []


def test_failure_is_hvctls_one_line_with_its_json(hvctl):
    steps = [dict(name='hooks stack pre-install', outcome='failed', detail='failed: 20-boom.sh', seconds=0.2, changed=True, hooks=[])]
    hvctl.answer(['start', 'docker'], flow(changed=True, succeeded=False, error='stack of docker failed at hooks stack pre-install: failed: 20-boom.sh', steps=steps),
                 rc=1, stderr='-> hooks stack pre-install\nError: stack of docker failed at hooks stack pre-install: failed: 20-boom.sh\n')
    result = hvctl.run('hvctl_stack', driver='docker')
    assert result['failed'] is True
    assert result['msg'] == 'stack of docker failed at hooks stack pre-install: failed: 20-boom.sh'
    assert result['changed'] is True
    assert result['steps'] == steps and result['rc'] == 1


def test_failure_without_json_uses_the_error_line(hvctl):
    hvctl.answer(['status'], status('docker'))
    hvctl.answer(['unstack'], '', rc=1, stderr="hvctl: waiting for the host lock\nError: unsafe path /etc/hvctl/extras.d: writable by others\n")
    result = hvctl.run('hvctl_stack', state='unstacked')
    assert result['failed'] and result['msg'] == 'unsafe path /etc/hvctl/extras.d: writable by others'
    assert result['changed'] is False


def test_unstacked_of_a_driver_neither_up_nor_running_runs_nothing(hvctl):
    hvctl.answer(['status', 'docker'], status('docker', running=False, up=False))
    result = hvctl.run('hvctl_stack', state='unstacked', driver='docker')
    assert result['changed'] is False and result['steps'] == []
    assert [c[0] for c in hvctl.calls()] == ['status']


def test_check_mode_stacked_up_but_not_active_is_changed(hvctl):
    hvctl.answer(['start', 'docker', '--dry-run'], dict(flow='start', driver='docker', dryRun=True, plan=['docker is already running']))
    hvctl.answer(['status', 'docker'], status('docker', running=True, up=True, active='fake'))
    assert hvctl.run('hvctl_stack', check_mode=True, driver='docker')['changed'] is True


def test_unstacked_and_cleaned(hvctl):
    hvctl.answer(['status', 'docker'], status('docker', running=True))
    hvctl.answer(['unstack', 'docker'], flow('unstack', changed=False))
    hvctl.answer(['clean', 'docker'], flow('clean', changed=True))
    assert hvctl.run('hvctl_stack', state='unstacked', driver='docker')['changed'] is False
    assert hvctl.run('hvctl_stack', state='cleaned', driver='docker')['changed'] is True


def test_switched_runs_switch(hvctl):
    hvctl.answer(['status', 'libvirt'], status('libvirt', running=False, active='docker'))
    result_json = dict(flow='switch', to='libvirt', succeeded=True, changed=True, error=None, rolledBackTo=None, flows=[flow()])
    result_json['from'] = 'docker'
    hvctl.answer(['switch', 'libvirt'], result_json)
    result = hvctl.run('hvctl_stack', state='switched', driver='libvirt', clean=True)
    assert result['changed'] is True and result['from'] == 'docker' and result['to'] == 'libvirt'
    assert hvctl.calls()[-1] == ['switch', 'libvirt', '--clean', '-o', 'json']


def test_switched_to_the_active_running_driver_does_nothing(hvctl):
    hvctl.answer(['status', 'docker'], status('docker'))
    result = hvctl.run('hvctl_stack', state='switched', driver='docker')
    assert result['changed'] is False
    assert [c[0] for c in hvctl.calls()] == ['status']


def test_switch_rolled_back_fails_with_hvctls_message(hvctl):
    hvctl.answer(['status', 'libvirt'], status('libvirt', running=False))
    failed = {'flow': 'switch', 'from': 'docker', 'to': 'libvirt', 'succeeded': False, 'changed': True,
              'error': 'stack of libvirt failed at start: libvirtd did not answer', 'rolledBackTo': 'docker', 'flows': []}
    hvctl.answer(['switch', 'libvirt'], failed, rc=1, stderr='Error: stack of libvirt failed at start: libvirtd did not answer\n')
    result = hvctl.run('hvctl_stack', state='switched', driver='libvirt')
    assert result['failed'] and result['rolledBackTo'] == 'docker'
    assert result['msg'] == 'stack of libvirt failed at start: libvirtd did not answer'


def test_check_mode_stacked_running_is_unchanged(hvctl):
    plan = dict(flow='start', driver='docker', dryRun=True, plan=['docker is already running: start would make it the active driver and run no hooks'])
    hvctl.answer(['start', 'docker', '--dry-run'], plan)
    hvctl.answer(['status', 'docker'], status('docker', running=True))
    result = hvctl.run('hvctl_stack', check_mode=True, driver='docker')
    assert result['changed'] is False and result['dryRun'] is True and result['plan'] == plan['plan']
    assert ['start', 'docker', '--dry-run', '-o', 'json'] in hvctl.calls()


def test_check_mode_stacked_down_is_changed(hvctl):
    hvctl.answer(['start', 'docker', '--dry-run'], dict(flow='start', driver='docker', dryRun=True, plan=['hooks stack pre-install', 'install']))
    hvctl.answer(['status', 'docker'], status('docker', running=False))
    assert hvctl.run('hvctl_stack', check_mode=True, driver='docker')['changed'] is True


def test_check_mode_stacked_running_but_never_stacked_is_changed(hvctl):
    # Docker as Debian starts it: running, but hvctl's stack (hooks, configure) never ran.
    hvctl.answer(['start', 'docker', '--dry-run'], dict(flow='start', driver='docker', dryRun=True, plan=['hooks stack pre-install', 'install']))
    hvctl.answer(['status', 'docker'], status('docker', running=True, up=False))
    assert hvctl.run('hvctl_stack', check_mode=True, driver='docker')['changed'] is True


def test_switched_to_an_active_driver_that_is_not_up_switches(hvctl):
    hvctl.answer(['status', 'docker'], status('docker', running=True, up=False))
    hvctl.answer(['switch', 'docker'], dict(flow='switch', to='docker', succeeded=True, changed=True, error=None, flows=[]))
    assert hvctl.run('hvctl_stack', state='switched', driver='docker')['changed'] is True
    assert ['switch', 'docker', '-o', 'json'] in hvctl.calls()


def test_check_mode_unstack_of_stopped_driver_without_hooks(hvctl):
    # Stacked by hvctl, its daemon since stopped: only hook units would change anything.
    hvctl.answer(['unstack', '--dry-run'], dict(flow='unstack', driver='podman', dryRun=True, plan=['hooks unstack', 'stop']))
    hvctl.answer(['status'], status('podman', running=False, up=True))
    assert hvctl.run('hvctl_stack', check_mode=True, state='unstacked')['changed'] is False
    hvctl.rules = []
    hvctl.answer(['unstack', '--dry-run'], dict(flow='unstack', driver='podman', dryRun=True,
                                                 plan=['hooks unstack', '  unit hvctl-RUN-unstack-20-hello.service', 'stop']))
    hvctl.answer(['status'], status('podman', running=False, up=True))
    assert hvctl.run('hvctl_stack', check_mode=True, state='unstacked')['changed'] is True
    # Neither up nor running: nothing to unstack, hooks or not, and nothing runs.
    hvctl.rules = []
    hvctl.answer(['status'], status('podman', running=False, up=False))
    before = len(hvctl.calls())
    result = hvctl.run('hvctl_stack', check_mode=True, state='unstacked')
    assert result['changed'] is False and [c[0] for c in hvctl.calls()[before:]] == ['status']


def test_config_and_hvctl_path(hvctl, tmp_path):
    import os
    import shutil
    binary = str(tmp_path / 'my-hvctl')
    shutil.copy(os.path.join(os.path.dirname(__file__), 'fake', 'hvctl'), binary)
    hvctl.answer(['clean'], flow('clean'))
    result = hvctl.run('hvctl_stack', state='cleaned', hvctl_path=binary, config='/etc/other.conf')
    assert result['cmd'] == [binary, '--config', '/etc/other.conf', 'clean', '-o', 'json']
