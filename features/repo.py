"""Every Feast object of the repository, built for one data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feast import FeatureService, OnDemandFeatureView

from features.entities import ALL_ENTITIES
from features.on_demand import offer_context_odfv
from features.services import offer_scoring_v1, offer_scoring_v2
from features.sources import offer_request_source
from features.views import FeatureViews, feature_views


@dataclass(frozen=True, slots=True)
class FeatureRepo:
    views: FeatureViews
    offer_context_odfv: OnDemandFeatureView
    offer_scoring_v1: FeatureService
    offer_scoring_v2: FeatureService

    def objects(self) -> list[Any]:
        """What ``FeatureStore.apply`` registers: entities, sources, views, services."""
        push_sources = [fv.stream_source for fv in self.views.all()]
        return [
            *ALL_ENTITIES,
            *push_sources,
            offer_request_source,
            *self.views.all(),
            self.offer_context_odfv,
            self.offer_scoring_v1,
            self.offer_scoring_v2,
        ]


def feature_repo(data_dir: Path) -> FeatureRepo:
    views = feature_views(data_dir)
    context = offer_context_odfv(views)
    return FeatureRepo(
        views=views,
        offer_context_odfv=context,
        offer_scoring_v1=offer_scoring_v1(views, context),
        offer_scoring_v2=offer_scoring_v2(views),
    )
