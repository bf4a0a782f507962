#!/usr/bin/python
# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: copy
short_description: Copy a file into a berth container
version_added: 0.1.0
description:
  - Writes one file into a container, running or stopped, from a file on the managed host or from the task's text.
  - Options follow M(community.docker.docker_container_copy_into).
  - Idempotent by content. The file in the container is compared by sha256, mode and owner, and written only when one
    of them differs. It is written to a temporary file beside it and renamed over it, so processes in the container
    never read half a file.
  - Paths in the container are resolved inside its root filesystem, symlinks included (an absolute link target names
    a path in the container), so nothing is ever read or written outside the container. A running container's
    volumes and bind mounts are part of what it sees; a stopped container's are not.
  - The diff shows the checksum, mode and owner, and for small text files (up to 64 KiB) the content, as
    M(ansible.builtin.copy) does.
extends_documentation_fragment:
  - berth.core.common
  - berth.core.common.state_module
options:
  container:
    description:
      - Name or ID of the container.
    type: str
    required: true
  path:
    description:
      - The absolute path of a file on the managed host to copy (C(~) expanded, symlinks followed). Exactly one of
        O(path) and O(content) is required.
    type: str
  content:
    description:
      - The file's content, as text (or base64 with O(content_is_b64=true)). Exactly one of O(path) and O(content) is
        required.
      - Shown in the diff when it is small text; set C(no_log) on the task for secrets.
    type: str
  content_is_b64:
    description:
      - Whether O(content) is base64, for binary files.
    type: bool
    default: false
  container_path:
    description:
      - The absolute path of the file in the container. Its directory must exist; a directory there is not replaced.
    type: str
    required: true
  mode:
    description:
      - The file's mode, as an octal string (V('0644')) or a number (YAML's C(0644) is one).
      - By default the mode of the file O(path) names, or V('0644') for O(content).
    type: raw
  owner_id:
    description:
      - The numeric owner of the file in the container; requires O(group_id). By default V(0) (root), as
        C(berth cp) writes files.
    type: int
  group_id:
    description:
      - The numeric group of the file in the container; requires O(owner_id). By default V(0).
    type: int
  follow:
    description:
      - When O(container_path) is a symlink, V(true) writes the file it points to (inside the container), V(false)
        replaces the symlink with the file.
    type: bool
    default: false
  force:
    description:
      - V(true) writes the file on every run (always a change).
      - V(false) writes it only when there is no file at O(container_path).
      - When omitted, the file is written when its content, mode or owner differ.
    type: bool
author:
  - berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A config file from the managed host
  berth.core.copy:
    container: nginx
    path: /srv/config/nginx.conf
    container_path: /etc/nginx/nginx.conf
    mode: "0644"

- name: A file written from the task, owned by the app user
  berth.core.copy:
    container: app
    content: |
      DEBUG=false
      WORKERS=4
    container_path: /srv/app/.env
    owner_id: 1000
    group_id: 1000
    mode: "0600"
  no_log: true

- name: A binary file given as base64, only if it is not there yet
  berth.core.copy:
    container: app
    content: "{{ lookup('file', 'logo.png.b64') }}"
    content_is_b64: true
    container_path: /srv/app/static/logo.png
    force: false
"""

RETURN = r"""
actions:
  description: What the task did (in check mode, would do), one line per step.
  returned: always
  type: list
  elements: str
  sample: ["write /etc/nginx/nginx.conf in container nginx (2048 bytes, mode 0644, owner 0:0)"]
file:
  description: What is at O(container_path) after the task (in check mode, before it).
  returned: when the container exists
  type: dict
  contains:
    container_path:
      description: The path in the container.
      type: str
    exists:
      description: Whether anything is there.
      type: bool
    kind:
      description: V(file), V(directory), V(symlink) or V(other).
      type: str
      returned: when it exists
    mode:
      description: Its mode, in octal.
      type: str
      sample: "0644"
      returned: when it exists
    owner_id:
      description: Its numeric owner.
      type: int
      returned: when it exists
    group_id:
      description: Its numeric group.
      type: int
      returned: when it exists
    size:
      description: Its size in bytes.
      type: int
      returned: when it exists
    checksum:
      description: The sha256 of a file's content.
      type: str
      returned: when it is a file
    link_target:
      description: Where a symlink points.
      type: str
      returned: when it is a symlink
"""

from ansible_collections.berth.core.plugins.module_utils.bytecode import install


def main():
    install()  # the module_utils below come from cached bytecode, not compiled on every task
    from ansible_collections.berth.core.plugins.module_utils.copy import Copy
    from ansible_collections.berth.core.plugins.module_utils.runner import run_module

    run_module(Copy)


if __name__ == "__main__":
    main()
