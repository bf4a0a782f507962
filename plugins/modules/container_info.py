#!/usr/bin/python
# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container_info
short_description: Read a berth container
version_added: 0.1.0
description:
  - Whether a container exists, and C(berth inspect) of it, as M(community.docker.docker_container_info) does.
  - Reads the container's records only; changes nothing.
extends_documentation_fragment:
  - berth.core.common
  - berth.core.common.info_module
options:
  name:
    description:
      - Name or ID (or unique ID prefix) of the container.
    type: str
    required: true
seealso:
  - module: berth.core.container
author:
  - berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Is the database there, and running?
  berth.core.container_info:
    name: db
  register: db

- name: Say so
  ansible.builtin.debug:
    msg: "db is {{ db.container.State.Status if db.exists else 'missing' }}"
"""

RETURN = r"""
exists:
  description: Whether the container exists.
  returned: always
  type: bool
  sample: true
container:
  description:
    - The container as C(berth inspect) shows it (Docker's shape); null when it does not exist.
  returned: always
  type: dict
  sample:
    Id: 4f0c0e6b4d2e8f3a...
    Name: /db
    State: {Status: running, Running: true}
    Config: {Image: mariadb:latest}
"""

from ansible_collections.berth.core.plugins.module_utils.bytecode import install


def main():
    install()  # the module_utils below come from cached bytecode, not compiled on every task
    from ansible_collections.berth.core.plugins.module_utils.container import ContainerInfo
    from ansible_collections.berth.core.plugins.module_utils.runner import run_module

    run_module(ContainerInfo)


if __name__ == "__main__":
    main()
