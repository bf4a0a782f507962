#!/usr/bin/python
# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: volume_info
short_description: Read a berth volume
version_added: 0.1.0
description:
  - Tells whether a volume exists and returns what C(berth volume inspect) shows of it.
  - Like M(community.docker.docker_volume_info). Changes nothing.
extends_documentation_fragment:
  - berth.core.common
  - berth.core.common.info_module
options:
  name:
    description:
      - Name of the volume.
    type: str
    required: true
    aliases:
      - volume_name
author:
  - berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read the database volume
  berth.core.volume_info:
    name: mysql-data
  register: data

- name: Show where its files are
  ansible.builtin.debug:
    msg: "{{ data.volume.Mountpoint }}"
  when: data.exists
"""

RETURN = r"""
exists:
  description: Whether the volume exists.
  returned: always
  type: bool
  sample: true
volume:
  description: The volume as C(berth volume inspect) shows it; V(null) when it does not exist.
  returned: always
  type: dict
  sample:
    CreatedAt: "2024-05-01T10:00:00Z"
    Driver: local
    Labels: {}
    Mountpoint: /var/lib/berth/volumes/mysql-data/_data
    Name: mysql-data
    Options: {}
    Scope: local
"""

from ansible_collections.berth.core.plugins.module_utils.bytecode import install


def main():
    install()  # the module_utils below come from cached bytecode, not compiled on every task
    from ansible_collections.berth.core.plugins.module_utils.runner import run_module
    from ansible_collections.berth.core.plugins.module_utils.volume import VolumeInfo

    run_module(VolumeInfo)


if __name__ == "__main__":
    main()
