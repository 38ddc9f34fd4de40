"""Every table, re-exported so Alembic and callers import one module."""

from shared.db.base import Base
from shared.models.brands import ApiKey, Brand
from shared.models.campaigns import Campaign, CampaignHashtag, CostLine, KpiTarget
from shared.models.collaborations import (
    Collaboration,
    CollaborationEvent,
    ContractTerms,
    Deliverable,
    DeliverableReview,
)
from shared.models.events import OutboxEvent
from shared.models.influencers import FollowerSnapshot, Influencer, SocialAccount
from shared.models.links import Click, PromoCode, TrackingLink

__all__ = [
    "ApiKey",
    "Base",
    "Brand",
    "Campaign",
    "CampaignHashtag",
    "Click",
    "Collaboration",
    "CollaborationEvent",
    "ContractTerms",
    "CostLine",
    "Deliverable",
    "DeliverableReview",
    "FollowerSnapshot",
    "Influencer",
    "KpiTarget",
    "OutboxEvent",
    "PromoCode",
    "SocialAccount",
    "TrackingLink",
]
