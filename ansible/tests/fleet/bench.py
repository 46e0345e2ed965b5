"""The fleet benchmark (make bench, or ansible/tests/run --fleet-bench): `hvctl cleanup` of three
hosts through Ansible (hvctl.hvctl.hvctl_cleanup, forks 3) against the same cleanups one host
after another (`ssh HOST hvctl cleanup` in a loop, what a user would otherwise type), and the
playbook's overhead over hvctl's own time per host (`hvctl cleanup` timed inside each host).

Before every measured cleanup each host gets the same leftovers: HVCTL_BENCH_FLEET_CONTAINERS (10)
running containers of hvctl's. HVCTL_BENCH_FLEET_ROUNDS (3) rounds; medians are printed."""
import os
import re
import statistics
import sys
import tempfile
import threading
import time

from fleet import Fleet, package

ROUNDS = int(os.environ.get('HVCTL_BENCH_FLEET_ROUNDS', '3'))
CONTAINERS = int(os.environ.get('HVCTL_BENCH_FLEET_CONTAINERS', '10'))

SETUP = '''
- name: hvctl with Docker up on every host
  hosts: ci_hosts
  tasks:
    - name: Install hvctl
      ansible.builtin.import_role:
        name: hvctl.hvctl.hvctl
    - name: Stack Docker
      hvctl.hvctl.hvctl_stack:
        driver: docker
'''

PING = '''
- name: Ansible alone, no hvctl
  hosts: ci_hosts
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
'''

CLEANUP = '''
- name: hvctl cleanup on every host
  hosts: ci_hosts
  gather_facts: false
  tasks:
    - name: Clean up everything hvctl made
      hvctl.hvctl.hvctl_cleanup:
'''


def say(text):
    print(text, flush=True)


def write(text):
    fd, path = tempfile.mkstemp(prefix='hvctl-fleet-', suffix='.yml')
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    return path


def inventory_hosts(path):
    """host -> (address, key file), from scripts/fleet's inventory."""
    with open(path) as f:
        text = f.read()
    key = re.search(r'^ansible_ssh_private_key_file=(\S+)', text, re.M).group(1)
    return dict((m.group(1), (m.group(2), key)) for m in re.finditer(r'^(\S+) ansible_host=(\S+)', text, re.M))


def leftovers(fleet):
    """CONTAINERS running hvctl containers on every host, made at the same time on all."""
    procs = []
    for host in fleet.hosts:
        script = 'for i in $(seq 1 %d); do hvctl instance launch bench-$i --driver docker >/dev/null || exit 1; done' % CONTAINERS
        procs.append(fleet.on(host, 'sh', '-c', script, timeout=300))
    return procs


def main():
    fleet = Fleet(3).up()
    setup, cleanup, ping = write(SETUP), write(CLEANUP), write(PING)
    try:
        run = fleet.playbook(setup, '-e', 'hvctl_deb_path=' + package())
        if run.rc != 0:
            sys.exit('fleet bench: the setup playbook failed:\n' + run.output)
        hosts = inventory_hosts(fleet.inventory)
        ssh = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR']
        loop = ' && '.join("ssh -i %s %s root@%s hvctl cleanup >/dev/null" % (key, ' '.join(ssh), address)
                           for address, key in (hosts[h] for h in fleet.hosts))
        figures = dict(playbook=[], serial=[], loop=[], own=[], task=[], ping=[], together=[])
        for r in range(ROUNDS):
            leftovers(fleet)
            run = fleet.playbook(cleanup, forks=3)
            assert run.rc == 0, run.output
            removed = [sum(len(d['removed'].get('container', [])) for d in rec['result']['drivers']) for rec in run.records]
            assert removed == [CONTAINERS] * 3, removed
            figures['playbook'].append(run.seconds)
            figures['task'] += [rec['seconds'] for rec in run.records]

            leftovers(fleet)
            run = fleet.playbook(cleanup, forks=1)
            assert run.rc == 0, run.output
            figures['serial'].append(run.seconds)

            run = fleet.playbook(ping, forks=3)
            assert run.rc == 0, run.output
            figures['ping'].append(run.seconds)

            leftovers(fleet)
            began = time.monotonic()
            out = fleet.controller('sh', '-c', loop, timeout=600)
            assert out.returncode == 0, out.stdout
            figures['loop'].append(time.monotonic() - began)

            leftovers(fleet)
            for host in fleet.hosts:
                began = time.monotonic()
                fleet.on(host, 'hvctl', 'cleanup', timeout=300)
                figures['own'].append(time.monotonic() - began)
            # The floor of any parallel run here: the three cleanups at once, no Ansible, no ssh
            # (the hosts share this machine's cores).
            leftovers(fleet)
            threads = [threading.Thread(target=fleet.on, args=(host, 'hvctl', 'cleanup'), kwargs=dict(timeout=300)) for host in fleet.hosts]
            began = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            figures['together'].append(time.monotonic() - began)
            say('round %d: playbook -f 3 %.2f s, playbook -f 1 %.2f s, ssh loop %.2f s, hvctl per host %s s' % (
                r + 1, figures['playbook'][-1], figures['serial'][-1], figures['loop'][-1],
                ' '.join('%.2f' % s for s in figures['own'][-3:])))
        m = dict((k, statistics.median(v)) for k, v in figures.items())
        say('')
        say('fleet: hvctl cleanup of 3 hosts x %d containers, medians of %d rounds' % (CONTAINERS, ROUNDS))
        say('  Ansible, forks 3 (hvctl.hvctl.hvctl_cleanup)   %6.2f s' % m['playbook'])
        say('  ssh HOST hvctl cleanup, one host after another %6.2f s   ratio %.2f (target <= 0.5)' % (m['loop'], m['playbook'] / m['loop']))
        say('  Ansible, forks 1 (one host after another)      %6.2f s   ratio %.2f' % (m['serial'], m['playbook'] / m['serial']))
        say('  Ansible alone: the same play with ping, forks 3 %6.2f s' % m['ping'])
        say('  hvctl cleanup on one host, its own time        %6.2f s' % m['own'])
        say('  hvctl cleanup on the three at once, no Ansible %6.2f s   ratio %.2f to the ssh loop (the floor here)' % (m['together'], m['together'] / m['loop']))
        say('  the cleanup task per host in the playbook      %6.2f s   overhead %.2f s over hvctl\'s own' % (m['task'], m['task'] - m['own']))
        say('  the playbook per host (forks 3 wall / 1 host)  %6.2f s   overhead %.2f s over hvctl\'s own' % (m['playbook'], m['playbook'] - m['own']))
    finally:
        for path in (setup, cleanup, ping):
            os.remove(path)
        if not os.environ.get('HVCTL_KEEP_FLEET'):
            fleet.down()


if __name__ == '__main__':
    main()
