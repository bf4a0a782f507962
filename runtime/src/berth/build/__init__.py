"""``berth build``: Dockerfiles into images.

* ``berth.build.dockerfile``: the parser (instructions as typed values, Docker's variable
  substitution, the config edits of CMD/ENV/LABEL/... shared with ``commit --change``);
* ``berth.build.context``: the build context (``.dockerignore``, COPY/ADD sources and their
  checksums, copying into a rootfs, ADD's archives and URLs);
* ``berth.build.builder``: runs the stages, one image per step, with the layer cache.
"""
