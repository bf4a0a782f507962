#!/usr/bin/python
# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: container
short_description: Manage berth containers
version_added: 0.1.0
description:
  - Create, start, stop, restart and remove containers of the berth engine, with every option of C(berth run).
  - Options follow M(community.docker.docker_container) (C(ports) is an alias of O(published_ports)).
  - An existing container is compared with the B(spec it was created from) (kept in its record), not with its
    configuration merged with the image's, so the image's C(CMD), C(ENV), labels or C(EXPOSE) never look like a
    difference. Only the options the task gives are compared, each as O(comparisons) says; values are compared
    after the engine's own parsing (C(1g) equals C(1024m), ports in any order, C(0.0.0.0) equals no address,
    C(/data/) equals C(/data)).
  - When the only differences are in O(memory), O(cpus), O(pids_limit), O(restart_policy) and
    O(restart_retries), the container is B(updated in place) with C(berth update), as
    M(community.docker.docker_container) updates them. A running container keeps running, with the new limits
    applied to it at once.
  - When any other compared option or the image differs, the container is B(recreated) - stopped (its stop signal
    and timeout), removed (named volumes always kept; anonymous ones as O(keep_volumes) says), created again from
    the task's options (only those; options the task does not give get the engine's defaults; O(image) defaults
    to the container's), connected to O(networks), and started when O(state) is V(started) or V(restarted).
  - Also changed in place are the running state and the network connections of O(networks) (connect, disconnect,
    reconnect with another address or aliases).
  - Every value is checked before anything changes, with the engine's C(berth run) parsers, and a bad one fails
    naming the option; so do a missing O(mounts) bind source, O(volumes_from) container, network or image with
    O(pull=never).
  - A container created by an engine that did not record its creation spec is compared by image only (a warning
    says so).
extends_documentation_fragment:
  - berth.core.common
attributes:
  check_mode:
    support: full
    details:
      - Reports the pull, recreate, connect, start and stop it would do; changes nothing.
  diff_mode:
    support: full
    details:
      - The differing options only (normalised), plus C(exists), C(running) and C(image) when they change.
options:
  name:
    description:
      - Name of the container (C([a-zA-Z0-9][a-zA-Z0-9_.-]+)); an existing container may also be named by ID.
    type: str
    required: true
  state:
    description:
      - V(absent) stops and removes the container (anonymous volumes as O(keep_volumes) says).
      - V(present) makes the container exist as the task describes, without starting a new one; a running one
        that is not recreated keeps running.
      - V(started) is V(present), then started if it is not running.
      - V(stopped) is V(present), then stopped if it is running.
      - V(restarted) is V(started), restarting a running container (always a change).
    type: str
    choices:
      - absent
      - present
      - stopped
      - started
      - restarted
    default: started
  image:
    description:
      - Image to create the container from, by name (C(busybox), C(docker.io/library/busybox:latest)), by
        C(name@digest) or by image ID; all ways of naming one image are the same image.
      - Required to create a container; when recreating, defaults to the image the container was created from.
      - With O(image_comparison=desired-image), the container is recreated when the image the task names is
        not the image the container runs, for example when a tag now points at a new image.
    type: str
  pull:
    description:
      - V(missing) pulls the image when it is not on the host.
      - V(always) asks the registry (one C(HEAD) request) whether the tag points at another image than the host
        has, and pulls it (then recreates the container) only if so; an unchanged tag is no change.
      - V(never) never pulls; an image not on the host fails the task before anything changes.
    type: str
    choices:
      - missing
      - always
      - never
    default: missing
  image_comparison:
    description:
      - V(desired-image) compares the image ID the task's O(image) resolves to now with the container's image ID.
      - V(current-image) compares only the names, so a container is not recreated because its tag moved to a
        newer image, only when the task names another image.
      - "C(comparisons: {image: ignore}) turns the image comparison off."
    type: str
    choices:
      - desired-image
      - current-image
    default: desired-image
  command:
    description:
      - Command to run, as a list or as a string split the way a shell would.
      - An empty list or string means the image's C(CMD) (as C(berth run) with no command).
    type: raw
  entrypoint:
    description:
      - Replaces the image's C(ENTRYPOINT) (and drops its C(CMD)); an empty list clears it.
    type: list
    elements: str
  env:
    description:
      - Environment variables. Values are strings; numbers and booleans are turned into their YAML spelling
        (V(1), V(true), V(false)). The image's variables are added by the engine and are not compared.
    type: dict
  env_file:
    description:
      - A file on the host with C(KEY=VALUE) lines (Docker's C(--env-file) format); O(env) wins over it. Its
        variables are compared as part of O(env).
    type: str
  working_dir:
    description:
      - Working directory of the command (an absolute path).
    type: str
  user:
    description:
      - C(name), C(uid), C(name:group) or C(uid:gid) to run the command as.
    type: str
  hostname:
    description:
      - Host name of the container.
    type: str
  labels:
    description:
      - Labels of the container (values as in O(env)). The image's labels are added by the engine and are not
        compared.
    type: dict
  tty:
    description:
      - Allocate a pseudo-TTY.
    type: bool
  interactive:
    description:
      - Keep stdin open.
    type: bool
  volumes:
    description:
      - C(berth run -v) values; C(/host/path:/path[:ro]) (a bind, its directory created when missing),
        C(name:/path[:ro]) (a named volume, created when missing), C(/path) (an anonymous volume).
    type: list
    elements: str
  mounts:
    description:
      - C(berth run --mount) values as dicts. A bind source must exist.
    type: list
    elements: dict
    suboptions:
      target:
        description:
          - Path inside the container.
        type: str
        required: true
      source:
        description:
          - Host path (V(bind)) or volume name (V(volume); an anonymous volume when omitted).
        type: str
      type:
        description:
          - Mount type.
        type: str
        choices:
          - bind
          - volume
          - tmpfs
        default: volume
      read_only:
        description:
          - Mount read-only.
        type: bool
      propagation:
        description:
          - Bind propagation (V(bind) only).
        type: str
        choices:
          - private
          - rprivate
          - shared
          - rshared
          - slave
          - rslave
      no_copy:
        description:
          - Do not copy the image's content into an empty volume (V(volume) only).
        type: bool
      tmpfs_size:
        description:
          - Size of the tmpfs (V(64m)) (V(tmpfs) only).
        type: str
      tmpfs_mode:
        description:
          - Octal mode of the tmpfs (V(1777)) (V(tmpfs) only).
        type: str
  tmpfs:
    description:
      - C(berth run --tmpfs) values, C(/path[:options]).
    type: list
    elements: str
  volumes_from:
    description:
      - Containers (C(name[:ro|:rw])) whose volumes and binds to mount.
    type: list
    elements: str
  restart_policy:
    description:
      - Restart policy. Changing it recreates the container.
    type: str
    choices:
      - 'no'
      - on-failure
      - always
      - unless-stopped
  restart_retries:
    description:
      - Maximum number of restarts with V(on-failure) (0 is unlimited).
    type: int
  auto_remove:
    description:
      - Remove the container when its command exits (C(--rm)); conflicts with a O(restart_policy).
    type: bool
  memory:
    description:
      - Memory limit with an optional unit (V(512m), V(1g)); V(0) is no limit, otherwise at least 6 MiB.
    type: str
  cpus:
    description:
      - Number of CPUs (V(1.5)).
    type: float
  pids_limit:
    description:
      - Process limit; V(-1) or V(0) is unlimited.
    type: int
  read_only:
    description:
      - Mount the root filesystem read-only.
    type: bool
  capabilities:
    description:
      - Capabilities to add (V(NET_ADMIN), V(net_admin), V(CAP_NET_ADMIN), V(ALL)).
    type: list
    elements: str
  cap_drop:
    description:
      - Capabilities to drop.
    type: list
    elements: str
  privileged:
    description:
      - Give the container extended privileges.
    type: bool
  security_opts:
    description:
      - Security options, as C(berth run --security-opt) (Docker's C(--security-opt)) takes them.
      - C(seccomp=unconfined) runs without a seccomp filter; C(seccomp=/path/profile.json) uses a profile in
        Docker's format, read on the managed host when the task runs (a changed file recreates the
        container); without a C(seccomp) entry the container gets Docker's default profile.
      - C(no-new-privileges), C(systempaths=unconfined); C(apparmor=unconfined) and C(label=disable) are accepted
        (berth applies neither). Other values fail, naming this option.
      - O(privileged=true) turns seccomp off whatever this says.
    type: list
    elements: str
  stop_signal:
    description:
      - Signal that stops the container (name or number); default the image's, else C(SIGTERM).
    type: str
  stop_timeout:
    description:
      - Seconds between the stop signal and C(SIGKILL) (default 10; V(-1) waits forever).
    type: int
  init:
    description:
      - Run an init process that reaps zombies and forwards signals.
    type: bool
  published_ports:
    description:
      - C(berth run -p) values (V(8080:80), V(127.0.0.1:8080:80/udp), V(80), V(8000-8010:80)); numbers are
        accepted; order does not matter. Not possible with O(network_mode) V(host) or V(none).
    type: list
    elements: str
    aliases:
      - ports
  publish_all_ports:
    description:
      - Publish every exposed port to a random host port.
    type: bool
  network_mode:
    description:
      - V(bridge) (or V(default)), V(host), V(none) or a network's name; the network the container is created on.
        Changing it recreates the container.
      - When omitted with O(networks) and O(networks_cli_compatible), the first of O(networks); when omitted
        otherwise, not compared (a new container gets V(bridge)).
    type: str
  networks:
    description:
      - Networks the container is connected to, with a fixed address and aliases. Connections change in
        place; after a recreate the new container is connected to each of them again, with the same address.
      - "Networks the container has and this list does not name stay connected unless
        C(comparisons: {networks: strict}) (that network_mode's network always stays)."
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Network name.
        type: str
        required: true
      aliases:
        description:
          - Extra names of the container on this network (compared as at least these).
        type: list
        elements: str
      ipv4_address:
        description:
          - Fixed IPv4 address on this network.
        type: str
  networks_cli_compatible:
    description:
      - As in community.docker (and its default), O(networks) without O(network_mode) behaves as
        C(berth run --network FIRST); the container is created on the first network, not on V(bridge).
      - When V(false), a new container is created on V(bridge) and every entry of O(networks) is connected.
    type: bool
    default: true
  dns_servers:
    description:
      - DNS servers of the container.
    type: list
    elements: str
  etc_hosts:
    description:
      - Extra C(/etc/hosts) entries, host name to address.
    type: dict
  comparisons:
    description:
      - How an option of an existing container is compared, by option name (or alias), as in community.docker.
      - V(strict) (the default of every option but O(networks)) requires the value the task gives.
      - V(allow_more_present) (lists and dicts only; the default of O(networks)) lets the container have more
        entries, keys or networks than the task gives.
      - V(ignore) never compares the option (V(image) too).
      - The key C('*') sets the mode (V(strict) or V(ignore)) of every option not named.
    type: dict
  recreate:
    description:
      - Recreate the container even when nothing differs.
    type: bool
    default: false
  keep_volumes:
    description:
      - Keep the anonymous volumes of a removed or recreated container (named volumes are always kept).
    type: bool
    default: true
seealso:
  - module: berth.core.container_info
author:
  - berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A database with its data in a volume, as the mysql seed runs it
  berth.core.container:
    name: db
    image: mariadb:latest
    env:
      MYSQL_ROOT_PASSWORD: "{{ db_password }}"
    volumes:
      - db-data:/var/lib/mysql
      - /srv/db/conf:/etc/mysql/conf.d:ro
    published_ports:
      - "3307:3306"
    restart_policy: unless-stopped
    memory: 1g

- name: A web server on a user network with a fixed address
  berth.core.container:
    name: web
    image: nginx:latest
    networks:
      - name: front
        ipv4_address: 10.20.0.10
        aliases: [www]
    ports: ["8080:80"]

- name: Only the environment decides whether the container is recreated
  berth.core.container:
    name: worker
    image: busybox
    command: sleep infinity
    env:
      MODE: batch
    comparisons:
      "*": ignore
      env: strict

- name: Created, not started
  berth.core.container:
    name: job
    image: busybox
    command: ["sh", "-c", "echo hello"]
    state: present

- name: Stop it
  berth.core.container:
    name: web
    state: stopped

- name: Remove it and its anonymous volumes
  berth.core.container:
    name: job
    state: absent
    keep_volumes: false
"""

RETURN = r"""
actions:
  description: What the task did (in check mode, would do), one line per step.
  returned: always
  type: list
  elements: str
  sample: ["recreate container web (env, image)", "start container web"]
container:
  description:
    - The container as C(berth inspect) shows it (Docker's shape), after the task (in check mode, before it).
  returned: when the container exists
  type: dict
  sample:
    Id: 4f0c0e6b4d2e8f3a...
    Name: /web
    Image: sha256:6d5ea8f7...
    State: {Status: running, Running: true, Pid: 4242, ExitCode: 0}
    Config: {Image: nginx:latest, Env: ["PATH=/usr/bin"], Cmd: ["nginx", "-g", "daemon off;"]}
    HostConfig: {NetworkMode: bridge, PortBindings: {"80/tcp": [{HostIp: "", HostPort: "8080"}]}}
    NetworkSettings: {Networks: {bridge: {IPAddress: 10.88.0.2}}}
"""

from ansible_collections.berth.core.plugins.module_utils.bytecode import install


def main():
    install()  # the module_utils below come from cached bytecode, not compiled on every task
    from ansible_collections.berth.core.plugins.module_utils.container import Container
    from ansible_collections.berth.core.plugins.module_utils.runner import run_module

    run_module(Container)


if __name__ == "__main__":
    main()
