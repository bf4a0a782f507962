#!/usr/bin/python
# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: image_info
short_description: Read berth images
version_added: 0.1.0
description:
  - Returns what C(berth image inspect) shows of the images named, or of every image when no name is given.
  - Like M(community.docker.docker_image_info); a name that names no image is simply not in the list. Changes
    nothing.
extends_documentation_fragment:
  - berth.core.common
  - berth.core.common.info_module
options:
  name:
    description:
      - Images to read, by C(name[:tag]), C(name@digest) or ID. When omitted, every image C(berth images) lists
        (the steps of builds left out).
    type: list
    elements: str
author:
  - berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read two images
  berth.core.image_info:
    name:
      - busybox:latest
      - web:1.0
  register: found

- name: Show their IDs
  ansible.builtin.debug:
    msg: "{{ found.images | map(attribute='Id') | list }}"

- name: Read every image
  berth.core.image_info:
  register: everything
"""

RETURN = r"""
images:
  description: The images found, each as C(berth image inspect) shows it; the same image once only.
  returned: always
  type: list
  elements: dict
  sample:
    - Id: sha256:9a2b...
      RepoTags: ["busybox:latest"]
      RepoDigests: ["registry.example.com:5000/busybox@sha256:51c2..."]
      Architecture: amd64
      Os: linux
      Size: 4261550
"""

from ansible_collections.berth.core.plugins.module_utils.bytecode import install


def main():
    install()  # the module_utils below come from cached bytecode, not compiled on every task
    from ansible_collections.berth.core.plugins.module_utils.image import ImageInfo
    from ansible_collections.berth.core.plugins.module_utils.runner import run_module

    run_module(ImageInfo)


if __name__ == "__main__":
    main()
