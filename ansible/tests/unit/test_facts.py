"""hvctl_facts against canned doctor, status, drivers and instance list JSON."""

DOCTOR = dict(driver='docker', driverSource='--driver', healthy=False,
              checks=[dict(name='docker', status='fail', detail='no answer', fix='start it', required=True)])
STATUS = dict(active='docker', selected='docker', selectedFrom='the active driver',
              status=dict(driver='docker', installed=True, configured=True, running=True, version='24', instances=1, detail=''))
DRIVERS = dict(active='docker', drivers=[STATUS['status']], scripts=[], refused={})


def test_gathers_everything(hvctl):
    hvctl.answer(['--version'], '0.1.0\n')
    hvctl.answer(['doctor'], DOCTOR, rc=1, stderr='Error: docker: no answer\n')
    hvctl.answer(['status'], STATUS)
    hvctl.answer(['drivers'], DRIVERS)
    hvctl.answer(['instance', 'list'], [dict(name='web')])
    result = hvctl.run('hvctl_facts', driver='docker')
    facts = result['ansible_facts']['hvctl']
    assert result['changed'] is False
    assert facts == dict(version='0.1.0', doctor=DOCTOR, status=STATUS, drivers=DRIVERS, instances=[dict(name='web')], errors={})
    assert ['doctor', '--driver', 'docker', '-o', 'json'] in hvctl.calls()
    assert ['status', 'docker', '-o', 'json'] in hvctl.calls()
    assert ['instance', 'list', '--driver', 'docker', '-o', 'json'] in hvctl.calls()


def test_a_failing_command_is_an_error_not_a_failure(hvctl):
    hvctl.answer(['--version'], '0.1.0\n')
    hvctl.answer(['instance', 'list'], '', rc=1, stderr='Error: docker is not running\n')
    result = hvctl.run('hvctl_facts', gather=['instances'])
    facts = result['ansible_facts']['hvctl']
    assert 'failed' not in result
    assert facts['instances'] is None and facts['doctor'] is None
    assert facts['errors'] == {'instances': 'docker is not running'}
    assert [c[0] for c in hvctl.calls()] == ['--version', 'instance']
