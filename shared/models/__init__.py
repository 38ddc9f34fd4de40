"""Every table, re-exported so Alembic and callers import one module."""

from shared.db.base import Base
from shared.models.analytics import (
    AccountDaily,
    LinkDaily,
    PostDaily,
    RollupBrandState,
    RollupDirty,
    SalesDaily,
)
from shared.models.brands import ApiKey, Brand
from shared.models.campaigns import Campaign, CampaignHashtag, CostLine, KpiTarget
from shared.models.collaborations import (
    Collaboration,
    CollaborationEvent,
    ContractTerms,
    Deliverable,
    DeliverableReview,
)
from shared.models.commissions import CommissionEntry
from shared.models.engagement import (
    AccountFeatures,
    AccountSignalMark,
    AccountSignals,
    EngagementBenchmark,
    Post,
    PostComment,
    PostMetricSnapshot,
)
from shared.models.events import OutboxEvent
from shared.models.influencers import FollowerSnapshot, Influencer, SocialAccount
from shared.models.links import Click, PromoCode, TrackingLink
from shared.models.orders import AttributionDecision, Order, OrderRefund
from shared.models.outbound import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from shared.models.payouts import IdempotencyKey, Payout, PayoutItem
from shared.models.webhooks import Integration, WebhookEvent

__all__ = [
    "AccountDaily",
    "AccountFeatures",
    "AccountSignalMark",
    "AccountSignals",
    "ApiKey",
    "AttributionDecision",
    "Base",
    "Brand",
    "Campaign",
    "CampaignHashtag",
    "Click",
    "Collaboration",
    "CollaborationEvent",
    "CommissionEntry",
    "ContractTerms",
    "CostLine",
    "Deliverable",
    "DeliverableReview",
    "EngagementBenchmark",
    "FollowerSnapshot",
    "IdempotencyKey",
    "Influencer",
    "Integration",
    "KpiTarget",
    "LinkDaily",
    "Order",
    "OrderRefund",
    "OutboxEvent",
    "Payout",
    "PayoutItem",
    "Post",
    "PostComment",
    "PostDaily",
    "PostMetricSnapshot",
    "PromoCode",
    "RollupBrandState",
    "RollupDirty",
    "SalesDaily",
    "SocialAccount",
    "TrackingLink",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookEndpoint",
    "WebhookEvent",
]
