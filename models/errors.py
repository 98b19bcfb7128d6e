"""Errors of the scoring model, under the engine's one base error."""

from __future__ import annotations

from offers.errors import OffersError


class ModelError(OffersError):
    """Base of the scoring model's errors."""


class FeatureMismatchError(ModelError):
    """A model or its inputs do not have the features of ``models.features``."""


class CompilationError(ModelError):
    """A model could not be compiled to native code, or its compiled predictions differ
    from LightGBM's (``models.compiled``)."""


class RegistryError(ModelError):
    """The model registry refused a request or could not be read."""


class VersionNotFound(RegistryError):
    """The registry has no version of this name."""


class ReportNotFound(RegistryError):
    """A version has no report, or its report has no file of this name."""


class RegistryDamaged(RegistryError):
    """A version, a pointer or the promotion history cannot be read as written."""


class RollbackRefused(RegistryError):
    """There is no earlier champion to roll back to."""
