"""hvctl_instance against canned `hvctl instance list|launch|wait|delete`."""


def inst(name='web', state='running'):
    return dict(name=name, driver='docker', id='abc', state=state, image='debian:12', run='r1', address=None)


def test_present_launches_when_missing(hvctl):
    hvctl.answer(['instance', 'list'], [inst('other')])
    hvctl.answer(['instance', 'launch', 'web'], inst())
    result = hvctl.run('hvctl_instance', name='web', driver='docker', image='debian:12', memory=64, wait=True, timeout=30,
                       command=['sleep', '60'])
    assert result['changed'] is True and result['instance']['name'] == 'web'
    assert hvctl.calls() == [
        ['instance', 'list', '--driver', 'docker', '-o', 'json'],
        ['instance', 'launch', 'web', '--driver', 'docker', '--image', 'debian:12', '--memory', '64',
         '--wait', '--timeout', '30', '-o', 'json', '--', 'sleep', '60'],
    ]


def test_present_when_there_is_unchanged(hvctl):
    hvctl.answer(['instance', 'list'], [inst()])
    result = hvctl.run('hvctl_instance', name='web')
    assert result['changed'] is False and result['instance'] == inst()
    assert len(hvctl.calls()) == 1


def test_present_with_wait_waits_for_one_that_is_there(hvctl):
    hvctl.answer(['instance', 'list'], [inst()])
    hvctl.answer(['instance', 'wait', 'web'], dict(inst(), address='10.0.0.5/24'))
    result = hvctl.run('hvctl_instance', name='web', wait=True, timeout=5)
    assert result['changed'] is False and result['instance']['address'] == '10.0.0.5/24'
    assert hvctl.calls()[-1] == ['instance', 'wait', 'web', '--timeout', '5', '-o', 'json']


def test_absent_deletes(hvctl):
    hvctl.answer(['instance', 'list'], [inst()])
    hvctl.answer(['instance', 'delete', 'web'], dict(name='web', driver='docker', deleted=True))
    result = hvctl.run('hvctl_instance', name='web', state='absent')
    assert result['changed'] is True and result['instance'] is None
    assert result['deleted'] == dict(name='web', driver='docker', deleted=True)
    assert hvctl.calls()[-1] == ['instance', 'delete', 'web', '-o', 'json']


def test_absent_when_gone_is_unchanged(hvctl):
    hvctl.answer(['instance', 'list'], [])
    result = hvctl.run('hvctl_instance', name='web', state='absent')
    assert result['changed'] is False
    assert len(hvctl.calls()) == 1


def test_check_mode_launches_and_deletes_nothing(hvctl):
    hvctl.answer(['instance', 'list'], [inst('db')])
    assert hvctl.run('hvctl_instance', check_mode=True, name='web')['changed'] is True
    assert hvctl.run('hvctl_instance', check_mode=True, name='db', state='absent')['changed'] is True
    assert [c[1] for c in hvctl.calls()] == ['list', 'list']


def test_launch_that_made_it_and_then_failed_is_changed(hvctl):
    hvctl.answer(['instance', 'launch'], '', rc=1, stderr='hvctl: launching\nError: web was not ready after 5 s: last console line: boot\n')
    hvctl.answer(['instance', 'list'], [], times=1)  # before the launch
    hvctl.answer(['instance', 'list'], [inst(state='created')])  # after it
    result = hvctl.run('hvctl_instance', name='web', wait=True, timeout=5)
    assert result['failed'] and result['msg'] == 'web was not ready after 5 s: last console line: boot'
    assert result['changed'] is True and result['instance']['state'] == 'created'


def test_launch_that_made_nothing_is_unchanged(hvctl):
    hvctl.answer(['instance', 'launch'], '', rc=1, stderr='Error: no such image: nope\n')
    hvctl.answer(['instance', 'list'], [])
    result = hvctl.run('hvctl_instance', name='web', image='nope')
    assert result['failed'] and result['msg'] == 'no such image: nope'
    assert result['changed'] is False and result['instance'] is None


def test_list_failure_is_hvctls_line(hvctl):
    hvctl.answer(['instance', 'list'], '', rc=1, stderr='Error: instances are not supported by a script driver\n')
    result = hvctl.run('hvctl_instance', name='web')
    assert result['failed'] and result['msg'] == 'instances are not supported by a script driver'
