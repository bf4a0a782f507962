#!/usr/bin/python
# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: network
short_description: Manage berth networks
version_added: 0.1.0
description:
  - Create and remove bridge networks of the berth engine and connect containers to them, as
    C(berth network create|rm|connect|disconnect) do.
  - Options follow M(community.docker.docker_network) (C(network_name), C(containers) and C(incremental) are
    aliases of O(name), O(connected) and O(appends)).
  - Only the options the task gives are compared; labels and driver options key by key, O(ipam_config) field by
    field.
  - The subnet, gateway, IP range, O(internal), labels and driver options of a network cannot change in place; a
    difference recreates the network (removed, then created with the task's options and, for what the task does
    not give, the old network's). With no container connected this just happens; with containers connected the
    task fails unless O(force=true), see O(force).
extends_documentation_fragment:
  - berth.core.common
  - berth.core.common.state_module
options:
  name:
    description:
      - Name of the network.
    type: str
    required: true
    aliases:
      - network_name
  state:
    description:
      - V(present) creates the network if it does not exist, recreates it if it differs, and connects (and, see
        O(connected), disconnects) containers.
      - V(absent) removes the network. With containers connected the task fails, unless O(force=true).
    type: str
    choices:
      - present
      - absent
    default: present
  driver:
    description:
      - Network driver; berth has the V(bridge) driver only.
    type: str
    choices:
      - bridge
    default: bridge
  driver_options:
    description:
      - Driver options, as C(berth network create -o KEY=VALUE), for example
        C(com.docker.network.bridge.name) (the bridge device's name, up to 15 characters) and
        C(com.docker.network.driver.mtu).
    type: dict
  ipam_config:
    description:
      - The network's IPv4 addressing; at most one entry (berth networks have one IPv4 subnet).
      - When omitted, a new network gets a free subnet of the engine's C(default-address-pools), and an existing
        network's addressing is not compared.
    type: list
    elements: dict
    suboptions:
      subnet:
        description:
          - Subnet in CIDR notation, for example V(172.20.0.0/16).
          - It must not overlap another network's subnet; that is refused before anything changes (in check mode
            too), so a recreate never removes a network it could not create again.
        type: str
        required: true
      gateway:
        description:
          - Gateway address (the bridge's address), inside the subnet; default the subnet's first address.
        type: str
      iprange:
        description:
          - Allocate container addresses from this range (CIDR, inside O(ipam_config[].subnet)) only.
        type: str
        aliases:
          - ip_range
  internal:
    description:
      - Restrict external access to the network (no route out, no published ports).
    type: bool
  labels:
    description:
      - Labels of the network. Only the keys given are compared.
    type: dict
  connected:
    description:
      - Names or IDs of containers to connect to the network.
      - When given, containers not in the list are disconnected, unless O(appends=true). An empty list disconnects
        every container (M(community.docker.docker_network) treats an empty list as omitted).
      - When omitted, connections are left as they are.
      - A name that is no container fails the task (in check mode too).
      - Connections are made with default settings; fixed addresses and aliases are the container's business.
    type: list
    elements: str
    aliases:
      - containers
  appends:
    description:
      - Leave containers that are connected but not in O(connected) connected.
    type: bool
    default: false
    aliases:
      - incremental
  force:
    description:
      - With O(state=absent), disconnect every container, then remove the network.
      - With O(state=present), allow recreating a network with containers connected when an option that cannot
        change in place differs; the containers are disconnected, the network recreated, and the ones that stay
        (see O(connected)) reconnected with their aliases, and with their fixed address if it is inside the new
        subnet. Without differences it does nothing (unlike M(community.docker.docker_network), it does not
        recreate a network that matches the task).
    type: bool
    default: false
notes:
  - Recreating a network interrupts the traffic of its containers for a moment.
author:
  - berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A network for the web tier
  berth.core.network:
    name: web
    ipam_config:
      - subnet: 172.28.0.0/24
        gateway: 172.28.0.1
        iprange: 172.28.0.128/25
    driver_options:
      com.docker.network.bridge.name: br-web
    labels:
      tier: web

- name: Exactly these containers on it
  berth.core.network:
    name: web
    connected:
      - nginx
      - app

- name: One more, leaving the others
  berth.core.network:
    name: web
    connected: [monitor]
    appends: true

- name: An internal network for the database
  berth.core.network:
    name: backend
    internal: true

- name: Remove it, disconnecting its containers
  berth.core.network:
    name: web
    state: absent
    force: true
"""

RETURN = r"""
actions:
  description: What the task did (in check mode, would do), one line per step.
  returned: always
  type: list
  elements: str
  sample: ["create network web (driver bridge)", "connect container nginx to network web"]
network:
  description:
    - The network as C(berth network inspect) shows it, after the task (in check mode, before it).
    - Absent when the network does not exist.
  returned: when the network exists
  type: dict
  sample:
    Name: web
    Id: 3f1c0b5e...
    Driver: bridge
    IPAM: {Driver: default, Options: {}, Config: [{Subnet: 172.28.0.0/24, Gateway: 172.28.0.1}]}
    Internal: false
    Containers: {}
    Options: {com.docker.network.bridge.name: br-web}
    Labels: {tier: web}
"""

from ansible_collections.berth.core.plugins.module_utils.bytecode import install


def main():
    install()  # the module_utils below come from cached bytecode, not compiled on every task
    from ansible_collections.berth.core.plugins.module_utils.network import Network
    from ansible_collections.berth.core.plugins.module_utils.runner import run_module

    run_module(Network)


if __name__ == "__main__":
    main()
