# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs berth.core.exec under the engine's interpreter (see plugins/plugin_utils/engine_action.py).

In check mode the task is skipped without running the module: what a command would change
cannot be predicted, and Ansible skips community.docker.docker_container_exec (a module
without check mode) the same way."""

from __future__ import annotations

from ansible_collections.berth.core.plugins.plugin_utils.engine_action import EngineModuleAction

CHECK_MODE_SKIP = "berth.core.exec does not run commands in check mode (what they change cannot be predicted)"


class ActionModule(EngineModuleAction):
    def run(self, tmp=None, task_vars=None):
        if self._play_context.check_mode:
            return {"changed": False, "skipped": True, "msg": CHECK_MODE_SKIP}
        return super().run(tmp, task_vars)
