"""arq WorkerSettings: `vouch worker` runs these; tests run them with a real arq Worker."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import func

from services.worker.jobs import clicks, collaborations, system
from services.worker.jobs import engagement as engagement_jobs
from services.worker.jobs import orders as order_jobs
from services.worker.jobs import outbound as outbound_jobs
from services.worker.jobs import payouts as payout_jobs
from services.worker.jobs import rollups as rollup_jobs
from services.worker.jobs import webhooks as webhook_jobs
from shared.config import Settings, get_settings
from shared.db.engine import create_engine, create_sessionmaker
from shared.jobs import JobName
from shared.logging import configure_logging


async def on_startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or get_settings()
    configure_logging(settings)
    engine = create_engine(settings)
    ctx["settings"] = settings
    ctx["engine"] = engine
    ctx["sessionmaker"] = create_sessionmaker(engine)
    await clicks.start_drain(ctx)  # the click stream -> `clicks` (runs until shutdown)
    await outbound_jobs.start_http(ctx)  # one pooled httpx client for outbound webhooks


async def on_shutdown(ctx: dict[str, Any]) -> None:
    await clicks.stop_drain(ctx)  # finishes and acknowledges the batch in hand
    await outbound_jobs.stop_http(ctx)
    engine = ctx.get("engine")
    if engine is not None:
        await engine.dispose()


FUNCTIONS = [
    func(system.heartbeat, name=JobName.HEARTBEAT.value),  # type: ignore[arg-type]
    func(system.ping, name=JobName.PING.value),  # type: ignore[arg-type]
    func(clicks.create_click_partitions, name=JobName.CREATE_CLICK_PARTITIONS.value),  # type: ignore[arg-type]
    func(collaborations.mark_missed_deliverables, name=JobName.MARK_MISSED_DELIVERABLES.value),  # type: ignore[arg-type]
    func(
        collaborations.notify_expiring_usage_rights,  # type: ignore[arg-type]
        name=JobName.NOTIFY_EXPIRING_USAGE_RIGHTS.value,
    ),
    func(outbound_jobs.deliver_webhooks, name=JobName.DELIVER_WEBHOOKS.value),  # type: ignore[arg-type]
    func(payout_jobs.purge_idempotency_keys, name=JobName.PURGE_IDEMPOTENCY_KEYS.value),  # type: ignore[arg-type]
    # Inbox: one job per received webhook, no result kept (thousands per second would pile
    # up in Redis for an hour otherwise); each drains a batch when the queue is deep.
    func(
        webhook_jobs.process_webhook_event,  # type: ignore[arg-type]
        name=JobName.PROCESS_WEBHOOK_EVENT.value,
        keep_result=0,
    ),
    func(webhook_jobs.process_webhook_batch, name=JobName.PROCESS_WEBHOOK_BATCH.value),  # type: ignore[arg-type]
    func(webhook_jobs.sweep_webhook_events, name=JobName.SWEEP_WEBHOOK_EVENTS.value),  # type: ignore[arg-type]
    # Engagement signals: one recompute per touched account (a no-op when up to date).
    func(
        engagement_jobs.recompute_account_signals,  # type: ignore[arg-type]
        name=JobName.RECOMPUTE_ACCOUNT_SIGNALS.value,
        keep_result=0,
    ),
    func(engagement_jobs.sweep_stale_signals, name=JobName.SWEEP_STALE_SIGNALS.value),  # type: ignore[arg-type]
    func(
        engagement_jobs.refresh_engagement_benchmarks,  # type: ignore[arg-type]
        name=JobName.REFRESH_ENGAGEMENT_BENCHMARKS.value,
    ),
    # Orders: handlers are registered with the inbox on import; this approves commissions.
    func(order_jobs.approve_commissions, name=JobName.APPROVE_COMMISSIONS.value),  # type: ignore[arg-type]
    func(rollup_jobs.refresh_rollups, name=JobName.REFRESH_ROLLUPS.value, keep_result=0),  # type: ignore[arg-type]
]

CRON_JOBS = [
    cron(system.heartbeat, name="cron:heartbeat", second={0, 30}, run_at_startup=True),  # type: ignore[arg-type]
    # Daily and at startup: monthly click partitions, this month and the next two.
    cron(
        clicks.create_click_partitions,  # type: ignore[arg-type]
        name="cron:create_click_partitions",
        hour={0},
        minute={5},
        run_at_startup=True,
    ),
    # Hourly; both are idempotent, so a missed or doubled run costs nothing.
    cron(collaborations.mark_missed_deliverables, name="cron:mark_missed_deliverables", minute={7}),  # type: ignore[arg-type]
    cron(
        collaborations.notify_expiring_usage_rights,  # type: ignore[arg-type]
        name="cron:notify_expiring_usage_rights",
        minute={17},
    ),
    # Every 5 s: outbox fan-out and due webhook deliveries (runs overlap safely).
    cron(
        outbound_jobs.deliver_webhooks,  # type: ignore[arg-type]
        name="cron:deliver_webhooks",
        second=outbound_jobs.CRON_SECONDS,
        timeout=120,
    ),
    # Daily: idempotency keys older than their 24 hours.
    cron(
        payout_jobs.purge_idempotency_keys,  # type: ignore[arg-type]
        name="cron:purge_idempotency_keys",
        hour={3},
        minute={41},
    ),
    # Every 30 s: re-queue inbox events left pending (lost enqueue, Redis restart) or due
    # for a retry. Cheap: a partial-index scan, and already-queued events are skipped.
    cron(
        webhook_jobs.sweep_webhook_events,  # type: ignore[arg-type]
        name="cron:sweep_webhook_events",
        second={10, 40},
        run_at_startup=True,
    ),
    # Engagement: every minute, signals whose recompute was lost; every 15 minutes, the
    # roster benchmark medians. Both idempotent.
    cron(engagement_jobs.sweep_stale_signals, name="cron:sweep_stale_signals", second={25}),  # type: ignore[arg-type]
    cron(
        engagement_jobs.refresh_engagement_benchmarks,  # type: ignore[arg-type]
        name="cron:refresh_engagement_benchmarks",
        minute={2, 17, 32, 47},
        run_at_startup=True,
    ),
    # Orders: every 10 minutes, approve commissions past their campaign's hold period.
    cron(
        order_jobs.approve_commissions,  # type: ignore[arg-type]
        name="cron:approve_commissions",
        minute=set(range(3, 60, 10)),
    ),
    # Analytics: every 10 s, recompute the rollup cells raw writes marked (overlapping runs
    # skip: one holds the rollup lock). Idempotent.
    cron(
        rollup_jobs.refresh_rollups,  # type: ignore[arg-type]
        name="cron:refresh_rollups",
        second=rollup_jobs.CRON_SECONDS,
        timeout=300,
    ),
]


def redis_settings(settings: Settings) -> RedisSettings:
    if not settings.redis_url:
        raise RuntimeError("VOUCH_REDIS_URL is not set and no embedded server was started")
    return RedisSettings.from_dsn(settings.redis_url)


def worker_settings(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for `arq.worker.Worker` (or `run_worker`)."""
    settings = settings or get_settings()
    return {
        "functions": FUNCTIONS,
        "cron_jobs": CRON_JOBS,
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "redis_settings": redis_settings(settings),
        "max_jobs": settings.worker_max_jobs,
        "ctx": {"settings": settings},
        "health_check_interval": 10,
        "poll_delay": 0.1,
        "handle_signals": True,
        "job_timeout": 300,
        "keep_result": 3600,
    }
