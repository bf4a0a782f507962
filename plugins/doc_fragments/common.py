# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every berth.core module shares: where it runs, the attributes, the action group.

``berth.core.common`` goes in every module; a module that changes something adds
``berth.core.common.state_module`` (full check and diff mode), an ``*_info`` module
``berth.core.common.info_module``. A module with its own ``details`` states them itself.
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
requirements:
  - The berth engine installed on the managed host by the role C(berth.core.engine).
notes:
  - The module runs on the managed host under the engine's own interpreter, the host variable C(berth_python)
    (default C({{ berth_prefix }}/bin/python), C(berth_prefix) defaulting to C(/opt/berth)), against the engine
    root in the host variable C(berth_root) (default C(/var/lib/berth)). The collection's action plugin sets both
    for every task, so tasks name neither; several engines can share a machine by giving hosts different values.
  - "When that interpreter does not exist or cannot import the engine, the task fails with
    C(the berth engine is not installed on HOST: apply role berth.core.engine)."
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
  action:
    description: Runs through an action plugin of the collection, which picks the engine's interpreter on the host.
    support: full
  action_group:
    description: Use C(group/berth.core.all) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - berth.core.all
"""

    # Modules that change state and predict it: check mode and diff mode in full.
    STATE_MODULE = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

    # *_info modules: they change nothing.
    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    details: Changes nothing, so it runs in check mode too.
  diff_mode:
    support: N/A
    details: Changes nothing.
"""
