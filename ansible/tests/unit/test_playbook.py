"""The modules through ansible-playbook (AnsiballZ, the collection loader, check mode), on localhost
with a local connection, against the fake hvctl."""
import json
import os
import subprocess
import sys

from conftest import ANSIBLE_DIR, HERE

PLAYBOOK = '''
- hosts: localhost
  gather_facts: false
  vars:
    fake: %(fake)s
  tasks:
    - name: stack
      hvctl.hvctl.hvctl_stack:
        driver: docker
        hvctl_path: "{{ fake }}"
        env: {ENABLED_SERVICES: n-cpu}
      register: stacked
    - name: stack in check mode
      hvctl.hvctl.hvctl_stack:
        driver: docker
        hvctl_path: "{{ fake }}"
      check_mode: true
      register: planned
    - name: facts
      hvctl.hvctl.hvctl_facts:
        hvctl_path: "{{ fake }}"
    - name: a failing cleanup
      hvctl.hvctl.hvctl_cleanup:
        hvctl_path: "{{ fake }}"
      register: cleanup
      ignore_errors: true
    - name: results
      ansible.builtin.copy:
        dest: %(out)s
        content: "{{ {'stacked': stacked, 'planned': planned, 'facts': ansible_facts.hvctl, 'cleanup': cleanup} | to_json }}"
'''


def test_playbook(hvctl, tmp_path):
    status = dict(active='docker', selected='docker', selectedFrom='x',
                  status=dict(driver='docker', installed=True, configured=True, running=True, version=None, instances=0, detail=''))
    hvctl.answer(['start', 'docker', '--dry-run'], dict(flow='start', driver='docker', dryRun=True, plan=['docker is already running']))
    hvctl.answer(['start', 'docker'], dict(flow='stack', driver='docker', run='r1', succeeded=True, changed=False, error=None, steps=[]))
    hvctl.answer(['status'], status)
    hvctl.answer(['--version'], '0.1.0\n')
    hvctl.answer(['doctor'], dict(driver='libvirt', driverSource='default', healthy=True, checks=[]))
    hvctl.answer(['drivers'], dict(active='docker', drivers=[status['status']], scripts=[], refused={}))
    hvctl.answer(['instance', 'list'], [])
    hvctl.answer(['cleanup'], dict(removedCount=0, reapedRuns=[], unreachable=['libvirt: down']), rc=1,
                 stderr='Error: not every driver could be looked at: libvirt: down (--ignore-unreachable accepts that)\n')
    hvctl.run('hvctl_facts')  # writes the rules file
    os.remove(hvctl.log_file)
    out = tmp_path / 'out.json'
    playbook = tmp_path / 'play.yml'
    playbook.write_text(PLAYBOOK % dict(fake=os.path.join(HERE, 'fake', 'hvctl'), out=out))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=ANSIBLE_DIR, FAKE_HVCTL_RULES=hvctl.rules_file,
               FAKE_HVCTL_LOG=hvctl.log_file, ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR='1')
    bindir = os.path.dirname(sys.executable)
    proc = subprocess.run([os.path.join(bindir, 'ansible-playbook'), '-c', 'local', '-i', 'localhost,', str(playbook)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=str(tmp_path), universal_newlines=True)
    assert proc.returncode == 0, proc.stdout
    results = json.loads(out.read_text())
    assert results['stacked']['changed'] is False and results['stacked']['run'] == 'r1'
    assert results['planned']['changed'] is False and results['planned']['plan'] == ['docker is already running']
    assert results['facts']['version'] == '0.1.0' and results['facts']['status']['active'] == 'docker'
    assert results['cleanup']['failed'] is True
    assert results['cleanup']['msg'] == 'not every driver could be looked at: libvirt: down (--ignore-unreachable accepts that)'
    calls = hvctl.calls()
    assert ['start', 'docker', '--env', 'ENABLED_SERVICES=n-cpu', '-o', 'json'] in calls
    assert ['start', 'docker', '--dry-run', '-o', 'json'] in calls
