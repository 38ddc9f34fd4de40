"""A campaign's attribution policy: which evidence credits an order, in what order.

Stored in `campaigns.attribution_policy` (JSONB; NULL means every default):

    {"rules": ["promo_code", "click_id", "last_click_within_window"],
     "window_days": 30,                 default: the campaign's attribution_window_days
     "model": "last_click",             or "first_click"
     "generic_codes": ["WELCOME10"],    extra codes treated as site-wide for this campaign
     "self_referral_guard": true}

Rules, each a kind of evidence an order can carry:
- promo_code: one of the order's discount codes is a promo code of the collaboration
  (case-insensitive). Site-wide codes (`promo_codes.generic`, or listed in `generic_codes`)
  never earn credit and never block credit a link would earn.
- click_id: the order brought back a `vclid` (landing URL, Shopify note attribute or
  WooCommerce order meta) that verifies as Vouch's, on a link of the collaboration, clicked
  within the window before the order.
- last_click_within_window: no click id came through, but the same shopper clicked a link of
  the collaboration within the window. What identifies "the same shopper" is limited by what
  Vouch keeps: clicks store only a daily-salted visitor hash (IP + user agent), never a
  customer. So two identities are used, both honest approximations: (1) the customer's own
  earlier orders (same store customer id or same e-mail hash) that carried a verified click
  id: their click is a click by this customer; (2) the store's browser IP and user agent of
  the checkout (Shopify browser_ip/client_details, WooCommerce customer_ip_address /
  customer_user_agent, Vouch format `client`), hashed exactly as the redirect hashed the
  click, for each day of the window: a match means a click from the same IP and browser,
  which a shared network or a changed browser can make wrong or miss.
The model picks among several clicks of one rule: last_click credits the latest,
first_click the earliest. Across rules, the rule's position in its campaign's `rules` wins
(ties: the default order above).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Rule(StrEnum):
    PROMO_CODE = "promo_code"
    CLICK_ID = "click_id"
    LAST_CLICK = "last_click_within_window"


class Model(StrEnum):
    LAST_CLICK = "last_click"
    FIRST_CLICK = "first_click"


DEFAULT_RULES: tuple[Rule, ...] = (Rule.PROMO_CODE, Rule.CLICK_ID, Rule.LAST_CLICK)
DEFAULT_WINDOW_DAYS = 30
_KEYS = frozenset({"rules", "window_days", "model", "generic_codes", "self_referral_guard"})


class PolicyError(ValueError):
    def __init__(self, loc: list[str | int], msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


@dataclass(frozen=True, slots=True)
class Policy:
    rules: tuple[Rule, ...] = DEFAULT_RULES
    window_days: int = DEFAULT_WINDOW_DAYS
    model: Model = Model.LAST_CLICK
    generic_codes: frozenset[str] = field(default_factory=frozenset)  # lower case
    self_referral_guard: bool = True

    def rank(self, rule: Rule) -> int | None:
        """Position of `rule` in this policy (None: the policy does not use it)."""
        return self.rules.index(rule) if rule in self.rules else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rules": [r.value for r in self.rules],
            "window_days": self.window_days,
            "model": self.model.value,
            "generic_codes": sorted(self.generic_codes),
            "self_referral_guard": self.self_referral_guard,
        }


def parse_policy(raw: object, *, window_days: int = DEFAULT_WINDOW_DAYS) -> Policy:
    """Validate a policy document strictly (for an API that accepts one); PolicyError names
    the offending key."""
    if raw is None:
        return Policy(window_days=window_days)
    if not isinstance(raw, dict):
        raise PolicyError([], "The attribution policy must be an object.")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise PolicyError([unknown[0]], f"Unknown policy key {unknown[0]!r}.")
    rules_raw = raw.get("rules", [r.value for r in DEFAULT_RULES])
    if not isinstance(rules_raw, list) or not rules_raw:
        raise PolicyError(["rules"], "rules must be a non-empty list.")
    rules: list[Rule] = []
    for i, value in enumerate(rules_raw):
        try:
            rule = Rule(value)
        except ValueError as exc:
            allowed = ", ".join(r.value for r in Rule)
            raise PolicyError(["rules", i], f"Unknown rule {value!r}; use {allowed}.") from exc
        if rule in rules:
            raise PolicyError(["rules", i], f"Rule {value!r} is listed twice.")
        rules.append(rule)
    days = raw.get("window_days", window_days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise PolicyError(["window_days"], "window_days must be an integer from 1 to 365.")
    try:
        model = Model(raw.get("model", Model.LAST_CLICK.value))
    except ValueError as exc:
        raise PolicyError(["model"], "model must be last_click or first_click.") from exc
    codes = raw.get("generic_codes", [])
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise PolicyError(["generic_codes"], "generic_codes must be a list of strings.")
    guard = raw.get("self_referral_guard", True)
    if not isinstance(guard, bool):
        raise PolicyError(["self_referral_guard"], "self_referral_guard must be a boolean.")
    return Policy(
        rules=tuple(rules),
        window_days=days,
        model=model,
        generic_codes=frozenset(c.strip().lower() for c in codes if c.strip()),
        self_referral_guard=guard,
    )


def resolve_policy(raw: object, *, window_days: int) -> Policy:
    """The policy a stored campaign applies. A stored document that no longer validates
    falls back to the defaults rather than stopping attribution (the decision records the
    policy it applied)."""
    try:
        return parse_policy(raw, window_days=window_days)
    except PolicyError:
        return Policy(window_days=window_days)
