"""Runs the collection's modules as Ansible runs them on a host (a Python process reading its
arguments from a file), against the fake hvctl in fake/ that answers with canned JSON."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ANSIBLE_DIR = os.path.dirname(os.path.dirname(HERE))  # ansible/, which holds ansible_collections/


class FakeHvctl(object):
    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.rules_file = str(tmp_path / 'rules.json')
        self.log_file = str(tmp_path / 'calls.log')
        self.rules = []

    def answer(self, args, stdout='', rc=0, stderr='', times=None):
        """hvctl ARGS... (a prefix of the command line) prints STDOUT (JSON unless a str) and exits RC
        (only the first TIMES such calls, when given)."""
        rule = dict(args=list(args), stdout=stdout, rc=rc, stderr=stderr)
        if times is not None:
            rule['times'] = times
        self.rules.append(rule)

    def calls(self):
        if not os.path.exists(self.log_file):
            return []
        with open(self.log_file) as f:
            return [json.loads(line) for line in f]

    def run(self, module, check_mode=False, **params):
        """Runs hvctl.hvctl.MODULE with PARAMS; returns its result (a dict)."""
        with open(self.rules_file, 'w') as f:
            json.dump(self.rules, f)
        if os.path.exists(self.rules_file + '.used'):
            os.remove(self.rules_file + '.used')
        args = dict(params)
        args['_ansible_check_mode'] = check_mode
        args_file = self.dir / 'args.json'
        args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        env = dict(os.environ)
        env.update(
            PATH=os.path.join(HERE, 'fake') + os.pathsep + env.get('PATH', ''),
            PYTHONPATH=ANSIBLE_DIR + os.pathsep + env.get('PYTHONPATH', ''),
            FAKE_HVCTL_RULES=self.rules_file,
            FAKE_HVCTL_LOG=self.log_file,
        )
        proc = subprocess.run(
            [sys.executable, '-m', 'ansible_collections.hvctl.hvctl.plugins.modules.' + module, str(args_file)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(self.dir), universal_newlines=True)
        try:
            return json.loads(proc.stdout)
        except ValueError:
            raise AssertionError('module printed no JSON (rc %d): %s %s' % (proc.returncode, proc.stdout, proc.stderr))


@pytest.fixture
def hvctl(tmp_path):
    return FakeHvctl(tmp_path)
