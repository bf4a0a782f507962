# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where option models get ``BaseModel``, ``Field`` and the validators from.

Modules run with ``plainmodel``: the subset of pydantic that option models use, which costs
nothing to import (pydantic's import and schema build cost ~75 ms per task; see plainmodel's
docstring). It needs nothing but the standard library, so it also serves ``ansible-test
sanity`` (import, validate-modules) and a wrong interpreter, where the engine is missing.

pydantic is the reference: with ``BERTH_OPTIONS_BACKEND=pydantic`` in the environment the same
models are pydantic models, which is how the unit tests check that both accept the same
options and give the same errors. ``BACKEND`` says which one is in use.
"""

from __future__ import annotations

import os

if os.environ.get("BERTH_OPTIONS_BACKEND") == "pydantic":
    from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

    BACKEND = "pydantic"
else:
    from ansible_collections.berth.core.plugins.module_utils.plainmodel import (
        BaseModel,
        ConfigDict,
        Field,
        SecretStr,
        ValidationError,
        field_validator,
        model_validator,
    )

    BACKEND = "plain"

__all__ = ["BACKEND", "BaseModel", "ConfigDict", "Field", "SecretStr", "ValidationError", "field_validator",
           "model_validator"]
