"""The fleet test: the README's playbook (examples/fleet/playbook.yml) with forks 3 against three
booted hosts over ssh. It installs the .deb, stacks Docker with hooks, launches an instance,
switches the first host to libvirt, cleans up and gathers facts. The third host's docker.service is
masked first, so its stack fails in hvctl's one line and the other two go on. Each module's result
is read from the hvctl_record callback; what happened on a host is seen from inside it (dpkg, the
hook's file, docker, virsh), not through hvctl."""
import json
import os
import re

import pytest

from fleet import CHECKOUT, PLAYBOOK, Fleet, package

MASKED = ("docker.service is masked, so systemd will not start docker; hvctl does not unmask it: "
          "`systemctl unmask docker.service` if docker should run here")


@pytest.fixture(scope='module')
def fleet():
    f = Fleet(3)
    try:
        yield f.up()
    finally:
        if not os.environ.get('HVCTL_KEEP_FLEET'):
            f.down()


@pytest.fixture(scope='module')
def played(fleet):
    fleet.on('fleet3', 'systemctl', 'mask', '--runtime', 'docker.service')
    run = fleet.playbook(PLAYBOOK, '-e', 'hvctl_deb_path=' + package())
    print(run.output)
    return run


def readme_playbook(path):
    """The first ```yaml block after the "Many hosts" heading of a README."""
    with open(path) as f:
        text = f.read()
    section = text.split('## Many hosts', 1)
    assert len(section) == 2, '%s has no "## Many hosts" section' % path
    block = re.search(r'```yaml\n(.*?)```', section[1], re.S)
    assert block, 'the "Many hosts" section of %s has no yaml block' % path
    return block.group(1)


def test_the_readme_shows_the_playbook_the_test_runs():
    with open(PLAYBOOK) as f:
        playbook = f.read()
    assert readme_playbook(os.path.join(CHECKOUT, 'README.md')) == playbook


def test_a_failed_host_is_failed_and_the_others_go_on(played):
    assert played.rc == 2, played.output  # ansible-playbook: a host failed
    recap = dict((m.group(1), dict(re.findall(r'(\w+)=(\d+)', m.group(2))))
                 for m in re.finditer(r'^(fleet\d)\s+:\s+(.*)$', played.output, re.M))
    assert recap['fleet1']['failed'] == '0' and recap['fleet2']['failed'] == '0', recap
    assert recap['fleet3']['failed'] == '1', recap
    for host in ('fleet1', 'fleet2'):
        assert all(status != 'failed' for _, status, _ in played.results(host)), played.results(host)
        assert played.result(host, 'Gather what hvctl sees')['status'] == 'ok'
    stack = played.result('fleet3', 'Stack Docker with the hooks')
    assert stack['status'] == 'failed'
    assert stack['result']['msg'] == "stack of docker failed at 'install': " + MASKED
    # hvctl's JSON comes with the failure: the steps up to the one that failed.
    assert [s['outcome'] for s in stack['result']['steps']] == ['done', 'failed']
    assert played.result('fleet3', 'Launch an instance and wait until it is ready') is None


def test_every_host_has_the_package_and_its_config(played, fleet):
    for host in fleet.hosts:
        assert played.result(host, 'Install the package with apt')['status'] == 'ok'
        status = fleet.on(host, 'dpkg-query', '-W', '-f', '${Status} ${Version}', 'hvctl').stdout
        assert status.startswith('install ok installed '), (host, status)
        conf = fleet.on(host, 'cat', '/etc/hvctl/hvctl.conf').stdout
        assert 'virt_driver = docker' in conf and 'top_dir = /opt/hvctl-example' in conf, conf


def test_the_hosts_ran_at_the_same_time(played):
    # forks 3: the two stacks that ran to the end overlapped in time.
    a, b = (played.result(h, 'Stack Docker with the hooks') for h in ('fleet1', 'fleet2'))
    assert a['began'] < b['began'] + b['seconds'] and b['began'] < a['began'] + a['seconds'], (a['began'], a['seconds'], b['began'], b['seconds'])


def test_docker_was_stacked_with_its_hooks(played, fleet):
    for host in ('fleet1', 'fleet2'):
        stack = played.result(host, 'Stack Docker with the hooks')
        assert stack['status'] == 'ok' and stack['result']['changed'] is True, stack
        steps = stack['result']['steps']
        assert [s['name'] for s in steps][:2] == ['hooks stack pre-install', 'install'], steps
        hooks = [h for s in steps for h in s['hooks']]
        assert {h['hook'] for h in hooks} == {'20-hello.sh'} and all(h['result'] == 'success' for h in hooks), hooks
        assert all(s['outcome'] == 'done' for s in steps), steps


def test_a_second_stack_of_an_up_driver_is_unchanged(played, fleet):
    planned = fleet.ansible('ansible', 'fleet2', '--check', '-m', 'hvctl.hvctl.hvctl_stack', '-a', 'driver=docker')
    assert planned.rc == 0, planned.output
    (only,) = planned.records
    assert only['result']['changed'] is False and only['result']['dryRun'] is True, only
    out = fleet.ansible('ansible', 'fleet2', '-m', 'hvctl.hvctl.hvctl_stack', '-a', 'driver=docker')
    assert out.rc == 0, out.output
    (only,) = out.records
    assert only['status'] == 'ok' and only['result']['changed'] is False, only
    assert [(s['name'], s['changed'], s['hooks']) for s in only['result']['steps']] == [('start', False, [])], only
    # Nothing is left for a cleanup, which check mode says from hvctl's own dry run.
    planned = fleet.ansible('ansible', 'fleet2', '--check', '-m', 'hvctl.hvctl.hvctl_cleanup')
    (only,) = planned.records
    assert only['status'] == 'ok' and only['result']['changed'] is False, only


def test_the_instance_ran_and_the_first_host_switched(played, fleet):
    for host in ('fleet1', 'fleet2'):
        launch = played.result(host, 'Launch an instance and wait until it is ready')
        assert launch['status'] == 'ok' and launch['result']['changed'] is True, launch
        assert launch['result']['instance']['state'] == 'running', launch
        # Docker itself saw the container start (it is gone now: cleanup came after).
        started = fleet.on(host, 'docker', 'events', '--since', '%d' % int(launch['began']) , '--until', '%d' % int(launch['began'] + launch['seconds'] + 1),
                           '--filter', 'event=start', '--filter', 'container=smoke', '--format', '{{.Actor.Attributes.name}}').stdout.split()
        assert started == ['smoke'], (host, started)
    switch = played.result('fleet1', 'Switch the first host to libvirt')
    assert switch['status'] == 'ok' and switch['result']['changed'] is True, switch
    assert switch['result']['from'] == 'docker' and switch['result']['to'] == 'libvirt', switch
    assert played.result('fleet2', 'Switch the first host to libvirt')['status'] == 'skipped'
    # The hook ran again for libvirt on the first host only (hello.conf is its configure's file).
    hello = {h: fleet.on(h, 'cat', '/run/hvctl-example/hello.conf').stdout for h in ('fleet1', 'fleet2')}
    assert 'compute_driver = libvirt' in hello['fleet1'], hello
    assert 'compute_driver = docker' in hello['fleet2'], hello


def test_cleanup_removed_everything_hvctl_made(played, fleet):
    for host in ('fleet1', 'fleet2'):
        cleanup = played.result(host, 'Clean up everything hvctl made')
        assert cleanup['status'] == 'ok' and cleanup['result']['changed'] is True, cleanup
        assert cleanup['result']['removedCount'] >= 1, cleanup
        facts = played.result(host, 'Gather what hvctl sees')['result']['ansible_facts']['hvctl']
        assert facts['instances'] == [] and facts['errors'] == {}, facts
        assert facts['status']['active'] == ('libvirt' if host == 'fleet1' else 'docker'), facts['status']
    names = fleet.on('fleet2', 'docker', 'ps', '-a', '--format', '{{.Names}}').stdout.split()
    assert not [n for n in names if 'smoke' in n], names
    # The switch left the first host's Docker running (hvctl had not started it); cleanup emptied it.
    names = fleet.on('fleet1', 'docker', 'ps', '-a', '--format', '{{.Names}}').stdout.split()
    assert not [n for n in names if 'smoke' in n], names
    # And libvirt is what the first host runs now.
    assert fleet.on('fleet1', 'systemctl', 'is-active', 'libvirtd.service').stdout.strip() == 'active'
    status = json.loads(fleet.on('fleet1', 'hvctl', 'status', 'libvirt', '-o', 'json').stdout)
    assert status['active'] == 'libvirt' and status['up'] is True, status


def test_the_masked_host_was_left_as_it_was(played, fleet):
    state = fleet.on('fleet3', 'systemctl', 'show', '-P', 'LoadState', 'docker.service').stdout.strip()
    assert state == 'masked'
    status = json.loads(fleet.on('fleet3', 'hvctl', 'status', 'docker', '-o', 'json').stdout)
    assert status.get('active') is None and status['up'] is False, status
