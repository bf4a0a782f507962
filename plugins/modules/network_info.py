#!/usr/bin/python
# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network_info
short_description: Read a berth network
version_added: 0.1.0
description:
  - Tells whether a network exists and returns what C(berth network inspect) shows of it, connected containers
    included.
  - Like M(community.docker.docker_network_info). Changes nothing.
extends_documentation_fragment:
  - berth.core.common
  - berth.core.common.info_module
options:
  name:
    description:
      - Name or ID of the network.
    type: str
    required: true
    aliases:
      - network_name
author:
  - berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read the web network
  berth.core.network_info:
    name: web
  register: web

- name: Show its subnet
  ansible.builtin.debug:
    msg: "{{ web.network.IPAM.Config[0].Subnet }}"
  when: web.exists
"""

RETURN = r"""
exists:
  description: Whether the network exists.
  returned: always
  type: bool
  sample: true
network:
  description: The network as C(berth network inspect) shows it; V(null) when it does not exist.
  returned: always
  type: dict
  sample:
    Name: web
    Driver: bridge
    IPAM: {Driver: default, Options: {}, Config: [{Subnet: 172.28.0.0/24, Gateway: 172.28.0.1}]}
    Internal: false
    Containers: {}
    Labels: {}
"""

from ansible_collections.berth.core.plugins.module_utils.bytecode import install


def main():
    install()  # the module_utils below come from cached bytecode, not compiled on every task
    from ansible_collections.berth.core.plugins.module_utils.network import NetworkInfo
    from ansible_collections.berth.core.plugins.module_utils.runner import run_module

    run_module(NetworkInfo)


if __name__ == "__main__":
    main()
