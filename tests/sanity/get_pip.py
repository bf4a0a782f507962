"""Stand-in for ``get-pip.py``, the bootstrap script ``ansible-test`` fetches from
ci-files.testing.ansible.com to put pip into each sanity test's venv.

That host is not reachable from every build machine, PyPI is: ``make sanity`` saves this file
as ``~/.ansible/test/cache/get_pip_<version>.py`` (where ansible-test looks before downloading)
next to the pip wheel of that version downloaded from PyPI. Like get-pip, it runs
``pip install --upgrade --force-reinstall ARGS`` with pip imported from the wheel itself, minus
get-pip's own ``--no-setuptools`` / ``--no-wheel`` flags (ansible-test passes both, and pip
alone never installs setuptools or wheel).
"""

import glob
import os
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    version = os.path.splitext(os.path.basename(__file__))[0].rpartition("get_pip_")[2].replace("_", ".")
    wheels = glob.glob(os.path.join(here, f"pip-{version}-py3-none-any.whl"))
    if not wheels:
        sys.exit(f"get_pip: pip-{version}-py3-none-any.whl is missing from {here} (make sanity downloads it)")
    sys.path.insert(0, wheels[0])
    from pip._internal.cli.main import main as pip_main

    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
    sys.exit(pip_main(["install", "--upgrade", "--force-reinstall", *args]))


if __name__ == "__main__":
    main()
