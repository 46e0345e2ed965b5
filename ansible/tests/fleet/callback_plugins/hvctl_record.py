# -*- coding: utf-8 -*-
# Copyright: hvctl contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Records every task's result per host as a JSON line in $HVCTL_RECORD_FILE, for the fleet
test to assert on what each module returned (the screen output is for people)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: hvctl_record
type: aggregate
short_description: each task's result per host as JSON lines, for hvctl's fleet test
description: Appends host, task, status, when it began (epoch seconds), seconds and the module's result to $HVCTL_RECORD_FILE.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'hvctl_record'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.path = os.environ['HVCTL_RECORD_FILE']
        self.started = {}

    def v2_runner_on_start(self, host, task):
        self.started[(host.get_name(), task._uuid)] = time.time()

    def _record(self, result, status):
        host = result._host.get_name()
        began = self.started.pop((host, result._task._uuid), None)
        line = dict(host=host, task=result._task.get_name(), status=status, began=began,
                    seconds=None if began is None else time.time() - began, result=result._result)
        with open(self.path, 'a') as f:
            f.write(json.dumps(line, default=str) + '\n')

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')
