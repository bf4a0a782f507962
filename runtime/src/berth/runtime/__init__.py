"""The container runtime: OCI spec, overlay rootfs, runc/crun driver, conmon monitor, logs.

Kept import-light: each module imports what it needs, so ``ps``/``inspect``
never load the spec builder or spawn anything.
"""
