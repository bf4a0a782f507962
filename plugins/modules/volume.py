#!/usr/bin/python
# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: volume
short_description: Manage berth volumes
version_added: 0.1.0
description:
  - Create and remove named volumes of the berth engine, as C(berth volume create) and C(berth volume rm) do.
  - Options follow M(community.docker.docker_volume) (C(volume_name) is an alias of O(name)).
  - A volume's driver options and labels cannot change once it exists; O(recreate) says what a difference leads to.
    Only the labels and driver options the task gives are compared, each key on its own.
extends_documentation_fragment:
  - berth.core.common
  - berth.core.common.state_module
options:
  name:
    description:
      - Name of the volume (C([a-zA-Z0-9][a-zA-Z0-9_.-]+)).
    type: str
    required: true
    aliases:
      - volume_name
  state:
    description:
      - V(present) creates the volume if it does not exist.
      - V(absent) removes it; a volume that a container uses is never removed (the task fails and names the
        containers).
    type: str
    choices:
      - present
      - absent
    default: present
  driver:
    description:
      - Volume driver; berth has the V(local) driver only.
    type: str
    choices:
      - local
    default: local
  driver_options:
    description:
      - Options of the V(local) driver, as C(berth volume create -o KEY=VALUE).
      - "berth supports a bind of a host directory, C({type: none, o: bind, device: /absolute/path}); other mounts
        (tmpfs, nfs, block devices) are refused before anything is created."
      - When omitted, the existing volume's options are not compared.
    type: dict
  labels:
    description:
      - Labels of the volume. Only the keys given are compared; when omitted, labels are not compared.
    type: dict
  recreate:
    description:
      - What happens when the volume exists and differs from the task, since a volume cannot change in place.
      - V(never) leaves it as it is and warns about the difference.
      - V(options-changed) removes it and creates it again when the driver, driver options or labels differ.
      - V(always) removes it and creates it again on every run.
      - Recreating a volume B(loses its data), and is refused while a container uses the volume.
    type: str
    choices:
      - never
      - options-changed
      - always
    default: never
author:
  - berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A volume for the database
  berth.core.volume:
    name: mysql-data

- name: A volume that is a host directory
  berth.core.volume:
    name: site-content
    driver_options:
      type: none
      o: bind
      device: /srv/site
    labels:
      app: nginx
    recreate: options-changed

- name: Remove a volume
  berth.core.volume:
    name: scratch
    state: absent
"""

RETURN = r"""
actions:
  description: What the task did (in check mode, would do), one line per step.
  returned: always
  type: list
  elements: str
  sample: ["create volume mysql-data (driver local)"]
volume:
  description:
    - The volume as C(berth volume inspect) shows it, after the task (in check mode, before it).
    - Absent when the volume does not exist.
  returned: when the volume exists
  type: dict
  sample:
    CreatedAt: "2024-05-01T10:00:00Z"
    Driver: local
    Labels: {app: mysql}
    Mountpoint: /var/lib/berth/volumes/mysql-data/_data
    Name: mysql-data
    Options: {}
    Scope: local
"""

from ansible_collections.berth.core.plugins.module_utils.bytecode import install


def main():
    install()  # the module_utils below come from cached bytecode, not compiled on every task
    from ansible_collections.berth.core.plugins.module_utils.runner import run_module
    from ansible_collections.berth.core.plugins.module_utils.volume import Volume

    run_module(Volume)


if __name__ == "__main__":
    main()
