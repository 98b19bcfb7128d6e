"""Errors of the scoring model, under the engine's one base error."""

from __future__ import annotations

from offers.errors import OffersError


class ModelError(OffersError):
    """Base of the scoring model's errors."""


class FeatureMismatchError(ModelError):
    """A model or its inputs do not have the features of ``models.features``."""


class RegistryError(ModelError):
    """The model registry has no such version, no champion, or a damaged version."""
