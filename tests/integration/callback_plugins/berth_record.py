# Test-only callback: appends every task result, as JSON lines, to the file in $BERTH_RECORD.
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: berth_record
type: aggregate
short_description: record task results for the collection's integration tests
description: Appends one JSON line per task result to the file named by the BERTH_RECORD environment variable.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "berth_record"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = os.environ.get("BERTH_RECORD")
        if not path:
            return
        entry = {"task": result._task.get_name(), "host": result._host.get_name(), "status": status,
                 "result": result._result}
        with open(path, "a") as out:
            out.write(json.dumps(entry, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
