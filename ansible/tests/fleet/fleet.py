"""The fleet of scripts/fleet (three test hosts on a bridge, sshd in each, a controller namespace),
as the fleet test and the fleet benchmark drive it: Ansible runs on the controller, witnesses run
inside each host."""
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ANSIBLE_DIR = os.path.dirname(os.path.dirname(HERE))
CHECKOUT = os.path.dirname(ANSIBLE_DIR)
SCRIPT = os.path.join(CHECKOUT, 'scripts', 'fleet')
PLAYBOOK = os.path.join(CHECKOUT, 'examples', 'fleet', 'playbook.yml')
BIN = os.path.dirname(sys.executable)


def package():
    """The newest .deb that scripts/deb made (make test makes it before the fleet test)."""
    debs = sorted(glob.glob(os.path.join(CHECKOUT, 'dist', 'hvctl_*_amd64.deb')), key=os.path.getmtime)
    if not debs:
        raise RuntimeError('no dist/hvctl_*_amd64.deb: run scripts/deb (make deb) first')
    return debs[-1]


class Run(object):
    """One ansible run: its exit status, its screen output and each task's result per host."""

    def __init__(self, rc, output, records, seconds):
        self.rc = rc
        self.output = output
        self.records = records
        self.seconds = seconds

    def results(self, host):
        """The host's results, in order, as (task name, status, result)."""
        return [(r['task'], r['status'], r['result']) for r in self.records if r['host'] == host]

    def result(self, host, task):
        """The host's result of the task whose name ends with `task` (None when it did not run)."""
        found = [r for r in self.records if r['host'] == host and r['task'].endswith(task)]
        assert len(found) <= 1, 'task %r ran %d times on %s' % (task, len(found), host)
        return found[0] if found else None


class Fleet(object):
    def __init__(self, size=3):
        self.size = size
        self.hosts = ['fleet%d' % n for n in range(1, size + 1)]
        self.inventory = None

    def up(self):
        out = subprocess.run([SCRIPT, 'up'], env=self.env(), stdout=subprocess.PIPE, check=True, timeout=600, universal_newlines=True)
        self.inventory = out.stdout.strip().splitlines()[-1]
        return self

    def down(self):
        subprocess.run([SCRIPT, 'down'], env=self.env(), timeout=300)

    def env(self, **extra):
        env = dict(os.environ, HVCTL_FLEET_SIZE=str(self.size), ANSIBLE_COLLECTIONS_PATH=ANSIBLE_DIR,
                   ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', PYTHONDONTWRITEBYTECODE='1',
                   # Ansible's plugins, cache and ssh control sockets: in the fleet's own directory,
                   # root's and 0700 (scripts/fleet refuses anyone else's), never a fixed /tmp name
                   # another user could make first.
                   ANSIBLE_HOME=os.path.join(os.environ.get('HVCTL_FLEET_DIR', '/var/tmp/hvctl-fleet'), 'ansible'))
        env['PATH'] = BIN + os.pathsep + env.get('PATH', '')
        env.update(extra)
        return env

    def on(self, host, *cmd, check=True, timeout=120):
        """CMD inside the host (a witness: nsenter into its namespaces, not through hvctl or ssh)."""
        n = self.hosts.index(host) + 1
        out = subprocess.run([SCRIPT, 'on', str(n)] + list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError('%s on %s: exit %d: %s%s' % (' '.join(cmd), host, out.returncode, out.stdout, out.stderr))
        return out

    def controller(self, *cmd, timeout=120, **env):
        """CMD on the controller: its own network namespace on the bridge, this filesystem."""
        return subprocess.run([SCRIPT, 'run'] + list(cmd), env=self.env(**env), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout)

    def ansible(self, program, *args, timeout=900):
        """ansible-playbook or ansible on the controller with this fleet's inventory; each task's
        result is recorded by the hvctl_record callback."""
        fd, record = tempfile.mkstemp(prefix='hvctl-fleet-', suffix='.jsonl')
        os.close(fd)
        try:
            began = time.monotonic()
            out = self.controller(
                os.path.join(BIN, program), '-i', self.inventory, *args, timeout=timeout,
                ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'callback_plugins'),
                ANSIBLE_CALLBACKS_ENABLED='hvctl_record', ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
                HVCTL_RECORD_FILE=record)
            seconds = time.monotonic() - began
            with open(record) as f:
                records = [json.loads(line) for line in f if line.strip()]
        finally:
            os.remove(record)
        return Run(out.returncode, out.stdout, records, seconds)

    def playbook(self, path, *args, forks=3, timeout=900):
        return self.ansible('ansible-playbook', '-f', str(forks), *args, path, timeout=timeout)
