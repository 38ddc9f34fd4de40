"""arq jobs for inbox events, many per Redis round trip.

Every inbox event gets its own arq job, `process_webhook_event(event_id)` with `_job_id` =
the event id, exactly as `ArqRedis.enqueue_job` would write it (the same job key, pickled
payload and queue score, so a stock arq worker runs it). Two differences, both deliberate:

- Many jobs per call: one EVALSHA enqueues a whole batch of events (the intake commits
  webhooks in batches, the sweeper re-enqueues hundreds at once). `enqueue_job` costs three
  round trips per job.
- Deduplication looks at the queued or running job only, not at arq's result key: an event
  may legitimately need its job again after an earlier run finished (a retry after backoff,
  a replay), and a stored result must not block that.

`forget_jobs` removes the queued jobs of events a batch already handled (the worker claims
pending events in batches; see shared/webhooks/processing.py), so a deep queue costs one arq
job per batch rather than one per event. A job arq already started is not affected: it finds
its event handled and returns at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from arq.constants import (
    default_queue_name,
    expires_extra_ms,
    in_progress_key_prefix,
    job_key_prefix,
)
from arq.jobs import serialize_job

from shared.jobs import JobName

# KEYS: queue name. ARGV: expires_ms, score, then (job_id, payload) pairs.
_ENQUEUE = (
    """
local queue = KEYS[1]
local expires = ARGV[1]
local score = ARGV[2]
local added = 0
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local key = '"""
    + job_key_prefix
    + """' .. id
  local busy = redis.call('EXISTS', key) == 1 and (
    redis.call('ZSCORE', queue, id) or
    redis.call('EXISTS', '"""
    + in_progress_key_prefix
    + """' .. id) == 1)
  if not busy then
    redis.call('SET', key, ARGV[i + 1], 'PX', expires)
    redis.call('ZADD', queue, score, id)
    added = added + 1
  end
end
return added
"""
)


def _script(redis: Any) -> Any:
    script = getattr(redis, "_vouch_enqueue_events", None)
    if script is None:
        script = redis.register_script(_ENQUEUE)
        redis._vouch_enqueue_events = script
    return script


async def enqueue_events(redis: Any, event_ids: Sequence[object]) -> int:
    """Queue `process_webhook_event(id)` for each event not already queued or running.
    Returns how many were added."""
    if not event_ids:
        return 0
    now_ms = int(time.time() * 1000)
    argv: list[Any] = [expires_extra_ms, now_ms]
    for event_id in event_ids:
        job_id = str(event_id)
        payload = serialize_job(JobName.PROCESS_WEBHOOK_EVENT.value, (job_id,), {}, None, now_ms)
        argv.append(job_id)
        argv.append(payload)
    return int(await _script(redis)(keys=[default_queue_name], args=argv))


async def forget_jobs(redis: Any, event_ids: Sequence[object]) -> None:
    """Drop the queued jobs of events that are already handled."""
    if not event_ids:
        return
    ids = [str(i) for i in event_ids]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrem(default_queue_name, *ids)
        pipe.delete(*[job_key_prefix + i for i in ids])
        await pipe.execute()
