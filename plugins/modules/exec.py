#!/usr/bin/python
# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: exec
short_description: Run a command in a running berth container
version_added: 0.1.0
description:
  - Runs a command in a running container, as C(berth exec) does, and returns its exit status and output.
  - Options and results follow M(community.docker.docker_container_exec). As there (and with
    M(ansible.builtin.command)), a command that exits with a non-zero status fails the task, with its RV(rc) and output
    in the result; use C(failed_when) on RV(rc) to decide otherwise. A command that cannot be started (not found,
    not executable) gets RV(rc) 127 or 126 and the reason in RV(stderr), as C(docker exec) gives them.
  - The process is set up like the container's own (its environment, user, working directory, capabilities), with the
    options given over them.
  - The task always reports a change when the command runs.
extends_documentation_fragment:
  - berth.core.common
attributes:
  check_mode:
    support: partial
    details:
      - What a command changes cannot be predicted; in check mode the task is skipped, as Ansible skips
        M(community.docker.docker_container_exec) there.
  diff_mode:
    support: none
options:
  container:
    description:
      - Name or ID of the container; it must be running.
    type: str
    required: true
  argv:
    description:
      - The command and its arguments, one list item each (no quoting needed).
      - Exactly one of O(argv) and O(command) is required.
    type: list
    elements: str
  command:
    description:
      - The command as one string, split into arguments as a shell would (quotes, backslashes), without running a
        shell. Use O(argv) or C(sh -c) for pipes and redirections.
      - Exactly one of O(argv) and O(command) is required.
    type: str
  chdir:
    description:
      - The absolute directory in the container to run the command in; by default the container's working directory.
    type: str
  env:
    description:
      - Environment variables of the command, over the container's own.
    type: dict
  user:
    description:
      - The user (and group) to run the command as, C(name), C(uid), C(name:group) or C(uid:gid), looked up in the
        container's own C(/etc/passwd) and C(/etc/group); by default the container's user.
    type: str
  stdin:
    description:
      - Text given to the command on its standard input; without it the command reads an empty input.
      - Cannot be used with O(detach=true).
    type: str
  stdin_add_newline:
    description:
      - Whether a newline is added after O(stdin).
    type: bool
    default: true
  strip_empty_ends:
    description:
      - Whether trailing newlines are removed from RV(stdout) and RV(stderr).
    type: bool
    default: true
  tty:
    description:
      - Whether the command runs on a pseudo-terminal (its output then arrives in RV(stdout) only).
      - Cannot be used with O(detach=true).
    type: bool
    default: false
  detach:
    description:
      - V(false) waits for the command and returns its output and exit status.
      - V(true) returns as soon as it has started, and RV(rc), RV(stdout) and RV(stderr) are not returned.
    type: bool
    default: false
author:
  - berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Run a command
  berth.core.exec:
    container: web
    command: nginx -t
  register: check

- name: A shell pipeline, as another user, in a directory
  berth.core.exec:
    container: app
    argv:
      - sh
      - -c
      - "ls -l | wc -l"
    user: www-data
    chdir: /srv/app

- name: Feed a script to a database client
  berth.core.exec:
    container: mysql
    argv: [mysql, -uroot]
    env:
      MYSQL_PWD: "{{ mysql_root_password }}"
    stdin: "CREATE DATABASE IF NOT EXISTS app;"

- name: A command whose status 1 is an answer, not a failure
  berth.core.exec:
    container: app
    argv: [grep, -q, "^feature=on", /srv/app/app.conf]
  register: feature
  failed_when: feature.rc > 1

- name: Start a background job
  berth.core.exec:
    container: app
    command: /srv/app/warm-cache.sh
    detach: true
"""

RETURN = r"""
actions:
  description: What the task did, one line per step.
  returned: always
  type: list
  elements: str
  sample: ["run nginx -t in container web"]
rc:
  description:
    - The exit status of the command (128+N when killed by signal N; 126 or 127 when it could not start).
    - When it is not 0 the task fails, with C(msg) V(non-zero return code), unless C(failed_when) says otherwise.
  returned: success and O(detach=false)
  type: int
  sample: 0
stdout:
  description: The standard output of the command.
  returned: success and O(detach=false)
  type: str
stdout_lines:
  description: RV(stdout) split into lines.
  returned: success and O(detach=false)
  type: list
  elements: str
stderr:
  description: The standard error of the command.
  returned: success and O(detach=false)
  type: str
stderr_lines:
  description: RV(stderr) split into lines.
  returned: success and O(detach=false)
  type: list
  elements: str
"""

from ansible_collections.berth.core.plugins.module_utils.bytecode import install


def main():
    install()  # the module_utils below come from cached bytecode, not compiled on every task
    from ansible_collections.berth.core.plugins.module_utils.exec import Exec
    from ansible_collections.berth.core.plugins.module_utils.runner import run_module

    run_module(Exec)


if __name__ == "__main__":
    main()
