#!/usr/bin/python
# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: registry
short_description: Log the berth engine in to a registry, and manage its mirrors, TLS and insecure settings
version_added: 0.1.0
description:
  - Manages one registry's relationship with the host's berth engine.
  - Credentials, as C(berth login) and C(berth logout) store them (a Docker-compatible C(auth.json), mode 0600, in the
    engine's config directory). Options and semantics follow M(community.docker.docker_login).
  - The settings otherwise written into C(daemon.json) and C(certs.d) by hand, in the engine's config file (Docker's key
    names) and its C(certs.d/<host[:port]>/) directory. Each is managed only when the task gives it.
  - Config and certificate files are changed under the engine's config lock and written atomically, so tasks on one host
    never lose each other's changes.
  - The password and the client key are never shown, in the result, the diff or logs; the diff tells whether they
    change.
extends_documentation_fragment:
  - berth.core.common
attributes:
  check_mode:
    support: full
    details:
      - In check mode the registry is not contacted, so new credentials are not verified.
  diff_mode:
    support: full
options:
  registry_url:
    description:
      - The registry, as a host with an optional port (C(registry.example.com:5000)) or a URL (its scheme and path are
        ignored).
      - The default and C(index.docker.io), C(registry-1.docker.io) name Docker Hub (C(docker.io)).
    type: str
    default: https://index.docker.io/v1/
    aliases:
      - registry
      - url
  username:
    description:
      - The username to log in with. Required with O(password).
      - With O(state=present), the credentials are stored when they differ from the stored ones, after the registry
        accepted them. When omitted, the stored credentials are left alone.
    type: str
  password:
    description:
      - The password (or token) of O(username).
    type: str
  reauthorize:
    description:
      - Check the credentials with the registry even when the stored ones are the task's.
      - Without it, stored credentials equal to the task's mean nothing to do, and the registry is not contacted.
    type: bool
    default: false
    aliases:
      - reauth
  state:
    description:
      - V(present) logs in when O(username) is given.
      - V(absent) logs out (removes the stored credentials of the registry), as C(berth logout).
      - The other options are applied in either state.
    type: str
    choices:
      - present
      - absent
    default: present
  mirrors:
    description:
      - Mirrors of the registry, tried in this order before it (the engine's C(registry-mirrors)).
      - As in Docker, berth has mirrors for Docker Hub only, so O(registry_url) must be Docker Hub's.
      - An empty list removes the mirrors; when omitted, they are not managed.
    type: list
    elements: str
  insecure:
    description:
      - V(true) lists the registry (C(host[:port])) in the engine's C(insecure-registries), so it may be reached over
        plain HTTP or TLS without verification; V(false) removes that entry.
      - Other entries (networks, host names without the port) are left alone, and loopback registries are always
        insecure, as in Docker.
      - When omitted, not managed.
    type: bool
  ca_cert:
    description:
      - The CA certificate the registry's TLS certificate is checked with, in addition to the system's, as PEM text or
        the path of a PEM file on the managed host. Written to C(certs.d/<host[:port]>/ca.crt).
      - An empty string removes it; when omitted, not managed.
    type: str
  client_cert:
    description:
      - A TLS client certificate for the registry (PEM text or a path on the managed host), written to
        C(certs.d/<host[:port]>/client.cert). Requires O(client_key).
      - An empty string removes it; when omitted, not managed.
    type: str
  client_key:
    description:
      - The private key of O(client_cert) (PEM text or a path on the managed host), written to
        C(certs.d/<host[:port]>/client.key), mode 0600.
      - An empty string removes it; when omitted, not managed.
    type: str
author:
  - berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Log in to a private registry
  berth.core.registry:
    registry_url: registry.example.com:5000
    username: deploy
    password: "{{ vault_registry_password }}"

- name: A registry with a private CA
  berth.core.registry:
    registry: registry.internal:5000
    ca_cert: /etc/pki/internal-ca.pem

- name: A plain-HTTP registry on the lab network
  berth.core.registry:
    registry: lab-registry:5000
    insecure: true

- name: Pull Docker Hub images through a local mirror
  berth.core.registry:
    mirrors:
      - http://mirror.internal:5000

- name: Log out
  berth.core.registry:
    registry: registry.example.com:5000
    state: absent
"""

RETURN = r"""
actions:
  description: What the task did (in check mode, would do), one line per step.
  returned: always
  type: list
  elements: str
  sample: ["add registry.example.com:5000 to insecure-registries", "log in to registry.example.com:5000 as deploy"]
registry:
  description: The registry as the engine has it after the task (in check mode, before it).
  returned: success
  type: dict
  contains:
    name:
      description: The registry's name (C(host[:port]), C(docker.io) for Docker Hub).
      type: str
      sample: registry.example.com:5000
    logged_in:
      description: Whether credentials are stored for it.
      type: bool
    username:
      description: The stored username, null when logged out.
      type: str
    insecure:
      description: Whether it is listed in C(insecure-registries).
      type: bool
    mirrors:
      description: The engine's C(registry-mirrors) (Docker Hub only).
      type: list
      elements: str
      returned: for Docker Hub
    ca_cert:
      description: The sha256 of C(certs.d/<host>/ca.crt), null when there is none.
      type: str
    client_cert:
      description: The sha256 of C(certs.d/<host>/client.cert), null when there is none.
      type: str
    client_key:
      description: Whether C(certs.d/<host>/client.key) exists.
      type: bool
"""

from ansible_collections.berth.core.plugins.module_utils.bytecode import install


def main():
    install()  # the module_utils below come from cached bytecode, not compiled on every task
    from ansible_collections.berth.core.plugins.module_utils.registry import Registry
    from ansible_collections.berth.core.plugins.module_utils.runner import run_module

    run_module(Registry)


if __name__ == "__main__":
    main()
