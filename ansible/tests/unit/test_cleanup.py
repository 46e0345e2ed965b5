"""hvctl_cleanup against canned `hvctl cleanup -o json` reports."""


def report(removed=0, reaped=(), dry_run=False, remaining=(), unreachable=(), failures=()):
    return dict(dryRun=dry_run, run=None, drivers=[], units=dict(removed=[], spared=[], failed=[]), files=[],
                failures=list(failures), reapedRuns=list(reaped), remaining=list(remaining),
                unreachable=list(unreachable), removedCount=removed)


def test_nothing_to_remove_is_unchanged(hvctl):
    hvctl.answer(['cleanup'], report())
    result = hvctl.run('hvctl_cleanup')
    assert result['changed'] is False and result['removedCount'] == 0
    assert hvctl.calls() == [['cleanup', '-o', 'json']]


def test_removed_or_settled_is_changed(hvctl):
    hvctl.answer(['cleanup', 'docker'], report(removed=3))
    assert hvctl.run('hvctl_cleanup', driver='docker', ignore_unreachable=True)['changed'] is True
    assert hvctl.calls() == [['cleanup', 'docker', '--ignore-unreachable', '-o', 'json']]
    hvctl.rules = []
    hvctl.answer(['cleanup'], report(reaped=['r9']))
    assert hvctl.run('hvctl_cleanup')['changed'] is True


def test_check_mode_is_a_dry_run(hvctl):
    hvctl.answer(['cleanup', '--dry-run'], report(removed=2, dry_run=True))
    result = hvctl.run('hvctl_cleanup', check_mode=True)
    assert result['changed'] is True and result['dryRun'] is True
    assert hvctl.calls() == [['cleanup', '--dry-run', '-o', 'json']]


def test_unreachable_fails_with_hvctls_line_and_report(hvctl):
    line = 'not every driver could be looked at: libvirt: libvirtd.service is not running (--ignore-unreachable accepts that)'
    hvctl.answer(['cleanup'], report(removed=1, unreachable=['libvirt: libvirtd.service is not running']), rc=1, stderr='Error: %s\n' % line)
    result = hvctl.run('hvctl_cleanup')
    assert result['failed'] is True and result['msg'] == line
    assert result['changed'] is True and result['unreachable'] == ['libvirt: libvirtd.service is not running']


def test_hvctls_own_changed_is_reported(hvctl):
    hvctl.answer(['cleanup'], dict(report(), changed=True, error=None))
    assert hvctl.run('hvctl_cleanup')['changed'] is True
    hvctl.rules = []
    hvctl.answer(['cleanup'], dict(report(removed=1), changed=False, error=None))
    assert hvctl.run('hvctl_cleanup')['changed'] is False


def test_check_mode_predicts_what_a_dry_run_would_remove(hvctl):
    hvctl.answer(['cleanup', '--dry-run'], dict(report(removed=2, dry_run=True), changed=False, error=None))
    assert hvctl.run('hvctl_cleanup', check_mode=True)['changed'] is True
