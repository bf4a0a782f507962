# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs berth.core.copy under the engine's interpreter (see plugins/plugin_utils/engine_action.py)."""

from __future__ import annotations

from ansible_collections.berth.core.plugins.plugin_utils.engine_action import EngineModuleAction


class ActionModule(EngineModuleAction):
    pass
