"""Errors of the feature repository, under the engine's one base error."""

from __future__ import annotations

from offers.errors import OffersError


class FeatureRepoError(OffersError):
    """The feature repository was misconfigured or given rows it cannot store."""
