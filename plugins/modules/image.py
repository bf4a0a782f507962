#!/usr/bin/python
# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: image
short_description: Pull, build, load, tag, push, save and remove berth images
version_added: 0.1.0
description:
  - Makes an image present in the berth engine's store by pulling it from a registry, building it from a
    Dockerfile, loading it from an archive, or finding it already there; tags it into another repository, pushes
    it, saves it to an archive; or removes it.
  - Options follow M(community.docker.docker_image).
  - Change is decided by resolved image ID, not by an action having run. A present image is left alone unless
    O(force_source); then a pull happens only when the registry's tag names another image ID (the registry's
    manifests are read to know that, no layer is downloaded), a load only when the archive holds an image or tag
    the store lacks, and a build always runs (the build cache makes an unchanged rebuild cheap) but is reported as a
    change only when the image ID moved.
  - A push is a change only when the registry's manifest under the target tag differs from the local one (asked
    with a C(HEAD) request, also in check mode).
  - Check mode writes nothing, no blob and no tag. It predicts from the store, and where the task asks, from the
    registry (O(force_source) pulls, O(push)) and the archives (O(load_path), O(archive_path)). What only a build
    can tell, the ID it produces, is shown as C((known after the run)) in the diff, and a forced build is
    predicted as a change. A missing image to pull is predicted as a change without asking the registry.
  - A task whose image is present and needs no registry question reads the store only.
extends_documentation_fragment:
  - berth.core.common
  - berth.core.common.state_module
options:
  name:
    description:
      - Image name, as C(busybox), C(registry:5000/team/app) or with a tag (C(app:1.2)) or a digest
        (C(app@sha256:...)); or an image ID (C(sha256:...)) for O(state=absent), O(source=local) and
        O(source=load).
      - A tag in O(name) wins over O(tag).
    type: str
    required: true
  tag:
    description:
      - Tag of the image, when O(name) has none.
    type: str
    default: latest
  state:
    description:
      - V(present) makes the image present (as O(source) says), then tags, pushes and saves it as asked.
      - V(absent) removes the image name (the image itself when no other name is left), like C(berth rmi).
    type: str
    choices:
      - present
      - absent
    default: present
  source:
    description:
      - Where a missing image comes from. Required with O(state=present).
      - V(pull) pulls it from the registry O(name) names.
      - V(build) builds it from O(build.path).
      - V(load) loads it from the archive O(load_path) (made by C(berth save) or C(docker save)); the archive
        must hold O(name).
      - V(local) only checks that it is present, and fails if not.
    type: str
    choices:
      - pull
      - build
      - load
      - local
  force_source:
    description:
      - Pull, build or load even when the image is present (see the description for when that is a change).
    type: bool
    default: false
  force_tag:
    description:
      - Move the O(repository) tag when it names another image; without it an existing tag is left alone (with a
        warning when it is known to differ).
    type: bool
    default: false
  force_absent:
    description:
      - With O(state=absent), remove the image even when containers use it or, given by ID, when several
        repositories name it.
    type: bool
    default: false
  build:
    description:
      - How to build the image, with O(source=build).
    type: dict
    suboptions:
      path:
        description:
          - The build context, a directory on the managed host.
        type: str
        required: true
      dockerfile:
        description:
          - The Dockerfile, relative to O(build.path) or absolute. Default C(Dockerfile) in the context.
        type: str
      args:
        description:
          - Build arguments (C(ARG) values), as C(berth build --build-arg KEY=VALUE).
        type: dict
      target:
        description:
          - The stage to build, in a multi-stage Dockerfile.
        type: str
      nocache:
        description:
          - Do not use the build cache.
        type: bool
        default: false
      pull:
        description:
          - Pull the base images even when they are present.
        type: bool
        default: false
      labels:
        description:
          - Labels added to the image.
        type: dict
      network:
        description:
          - Network C(RUN) steps run on (default the engine's C(bridge)); V(none) for no network.
        type: str
  load_path:
    description:
      - The archive to load, with O(source=load).
    type: str
  archive_path:
    description:
      - Save the image (with its O(name) tag) to this archive on the managed host, as C(berth save). It is written
        only when the archive there does not already hold exactly that image and tag.
    type: str
  repository:
    description:
      - Tag the image into this repository too, C(repository[:tag]); without a tag, the image's tag is used.
      - With O(push=true), this is what is pushed.
    type: str
  push:
    description:
      - Push the image (O(repository) if given, else O(name)) to its registry.
    type: bool
    default: false
  platform:
    description:
      - The platform to pull, C(os/arch[/variant]). A present image of another platform is pulled again.
    type: str
notes:
  - Registry credentials are the engine's own (C(berth login), M(berth.core.registry)).
  - A failed build keeps the images of the steps that succeeded as build cache, untagged, as Docker does;
    nothing is tagged.
author:
  - berth maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Pull an image
  berth.core.image:
    name: registry.example.com:5000/library/busybox
    tag: "1.36"
    source: pull

- name: Pull again whenever the registry's tag moves
  berth.core.image:
    name: registry.example.com:5000/app:stable
    source: pull
    force_source: true

- name: Build an image
  berth.core.image:
    name: web:1.0
    source: build
    build:
      path: /srv/build/web
      args:
        VERSION: "1.0"
      labels:
        team: web

- name: Load an image from an archive
  berth.core.image:
    name: app:1
    source: load
    load_path: /tmp/app.tar

- name: Tag into a private registry and push
  berth.core.image:
    name: web:1.0
    source: local
    repository: registry.example.com:5000/web
    push: true

- name: Save an image to an archive
  berth.core.image:
    name: web:1.0
    source: local
    archive_path: /tmp/web.tar

- name: Remove an image
  berth.core.image:
    name: web:1.0
    state: absent
"""

RETURN = r"""
actions:
  description: What the task did (in check mode, would do), one line per step.
  returned: always
  type: list
  elements: str
  sample: ["pull image registry.example.com:5000/app:stable", "push image registry.example.com:5000/web:1.0"]
image:
  description:
    - The image as C(berth image inspect) shows it, after the task (in check mode, before it); empty when it does
      not exist.
  returned: success
  type: dict
  sample:
    Id: sha256:9a2b...
    RepoTags: ["web:1.0"]
    RepoDigests: []
    Architecture: amd64
    Os: linux
    Config: {Cmd: ["sh"], Labels: {team: web}}
stdout:
  description: The build's output (C(Step N/M) lines and what C(RUN) steps printed).
  returned: when a build ran
  type: str
"""

from ansible_collections.berth.core.plugins.module_utils.bytecode import install


def main():
    install()  # the module_utils below come from cached bytecode, not compiled on every task
    from ansible_collections.berth.core.plugins.module_utils.image import Image
    from ansible_collections.berth.core.plugins.module_utils.runner import run_module

    run_module(Image)


if __name__ == "__main__":
    main()
