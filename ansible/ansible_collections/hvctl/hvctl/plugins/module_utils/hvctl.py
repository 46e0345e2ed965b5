# -*- coding: utf-8 -*-
# Copyright: hvctl contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

"""Running hvctl on the target host and reading its JSON: shared by every hvctl.hvctl module."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json


# Options every module takes, merged into each module's argument_spec.
COMMON_ARGS = dict(
    hvctl_path=dict(type='str', default='hvctl'),
    config=dict(type='path'),
)


def common_argument_spec(**spec):
    """The module's own options plus hvctl_path and config."""
    merged = dict(COMMON_ARGS)
    merged.update(spec)
    return merged


class HvctlError(Exception):
    """hvctl failed: `msg` is its own one-line message, `result` what it printed (its JSON, if any)."""

    def __init__(self, msg, result):
        super(HvctlError, self).__init__(msg)
        self.msg = msg
        self.result = result


def error_line(stderr, payload=None, rc=None):
    """hvctl's one-line message for a failure.

    hvctl prints every error as one line `Error: ...` on stderr (the last one it prints);
    with `-o json`, the flows also carry it as the JSON `error` field. The stderr line wins,
    then the JSON field, then the last line of stderr, then the exit status.
    """
    lines = [line.strip() for line in (stderr or '').splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith('Error: '):
            return line[len('Error: '):]
    if isinstance(payload, dict) and payload.get('error'):
        return str(payload['error'])
    if lines:
        return lines[-1]
    return 'hvctl exited with status %s' % rc


class Hvctl(object):
    """hvctl on this host, run by an AnsibleModule."""

    def __init__(self, module):
        self.module = module
        path = module.params.get('hvctl_path') or 'hvctl'
        if '/' in path:
            self.binary = path
        else:
            self.binary = module.get_bin_path(path, required=True, opt_dirs=['/usr/bin', '/usr/local/bin', '/usr/sbin'])
        self.config = module.params.get('config')

    def command(self, args):
        """The full command line for hvctl ARGS (with --config when the module was given one)."""
        # --config goes first: hvctl takes it anywhere before `--`, and what follows `--` is
        # an instance's command.
        cmd = [self.binary]
        if self.config:
            cmd += ['--config', self.config]
        return cmd + list(args)

    def run(self, args):
        """Runs hvctl ARGS; returns (rc, stdout, stderr, cmd). Never raises on a non-zero exit."""
        cmd = self.command(args)
        # hvctl takes arguments as given: no shell, and no locale translation of its output.
        rc, out, err = self.module.run_command(cmd, environ_update={'LC_ALL': 'C'})
        return rc, out, err, cmd

    def json(self, args, ok_codes=(0,)):
        """Runs hvctl ARGS (which must ask for `-o json`) and returns its JSON object.

        Raises HvctlError with hvctl's one-line message when the exit status is not in
        ok_codes or stdout is not JSON; the error's `result` holds the JSON hvctl printed
        (hvctl prints its JSON before failing, e.g. a flow's steps or cleanup's report) and
        `cmd`, `rc`, `stderr`.
        """
        rc, out, err, cmd = self.run(args)
        payload = parse_json(out)
        result = dict(payload) if isinstance(payload, dict) else {}
        if isinstance(payload, list):
            result = {'items': payload}
        result.update(cmd=cmd, rc=rc, stderr=err)
        if rc not in ok_codes:
            raise HvctlError(error_line(err, payload, rc), result)
        if payload is None:
            raise HvctlError('hvctl printed no JSON for `%s`: %s' % (' '.join(cmd), error_line(err, None, rc)), result)
        return payload, result

    def text(self, args):
        """Runs hvctl ARGS for a command without JSON output; returns (stdout, result)."""
        rc, out, err, cmd = self.run(args)
        result = dict(cmd=cmd, rc=rc, stdout=out, stderr=err)
        if rc != 0:
            raise HvctlError(error_line(err, None, rc), result)
        return out, result

    def fail(self, error, **extra):
        """fail_json with hvctl's message and what it printed."""
        result = dict(error.result)
        result.update(extra)
        result.pop('msg', None)
        result.pop('failed', None)
        result.setdefault('changed', False)
        self.module.fail_json(msg=error.msg, **result)


def parse_json(text):
    """The JSON object hvctl printed on stdout, or None.

    hvctl prints one JSON value at the end of stdout; anything before it (it should be
    nothing) is skipped.
    """
    text = (text or '').strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    for opener in ('{', '['):
        start = text.find('\n' + opener)
        if start >= 0:
            try:
                return json.loads(text[start + 1:])
            except ValueError:
                continue
    return None


def env_args(env):
    """A dict of hook variables as repeated `--env NAME=VALUE`, in name order."""
    args = []
    for name in sorted((env or {}).keys()):
        value = env[name]
        if isinstance(value, bool):
            value = 'True' if value else 'False'
        args += ['--env', '%s=%s' % (name, '' if value is None else value)]
    return args


def driver_status(hvctl, driver):
    """`hvctl status [DRIVER] -o json`: {active, selected, selectedFrom, status: {running, ...}}."""
    args = ['status'] + ([driver] if driver else []) + ['-o', 'json']
    payload, dummy = hvctl.json(args)
    return payload
