"""The registry of metric definitions: what every number Sokhan reports means, and which version of
its formula produced it. A change to what a metric counts bumps its version (never silently).

See docs/metrics.md for the full text of each definition and worked examples.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    name: str  # stable identifier, used in exports and the API
    version: int  # starts at 1; bumped whenever the formula or what it counts changes
    formula: str
    source: str  # the public definition this one follows (and where it differs, docs/metrics.md)
    unit: str  # "ratio" (0–1), "seconds", "count"…
    description: str


_REGISTRY: dict[str, MetricDefinition] = {}


def register(definition: MetricDefinition) -> MetricDefinition:
    """Add a definition; a second definition under the same name is a programming error."""
    if definition.version < 1:
        raise ValueError(f"metric {definition.name}: versions start at 1")
    if definition.name in _REGISTRY and _REGISTRY[definition.name] != definition:
        raise ValueError(f"metric {definition.name} is already defined")
    _REGISTRY[definition.name] = definition
    return definition


def definitions() -> list[MetricDefinition]:
    """Every registered definition, sorted by name."""
    return sorted(_REGISTRY.values(), key=lambda d: d.name)


def get(name: str) -> MetricDefinition:
    """The definition called ``name`` (``KeyError`` when there is none)."""
    return _REGISTRY[name]


# ---------------------------------------------------------------------------------------------
# Inbox response metrics (computed by sokhan.metrics.response)

SPROUT_TEAM = "Sprout Social, Inbox Team Report (https://support.sproutsocial.com/hc/en-us/articles/208762436)"
SPROUT_ACTIVITY = "Sprout Social, Inbox Activity Report (https://support.sproutsocial.com/hc/en-us/articles/202123288)"
AGORAPULSE_CM = "Agorapulse, Community Management Report (https://support.agorapulse.com/en/articles/10728067)"
AGORAPULSE_HOURS = "Agorapulse, Business Hours & Response Time (https://support.agorapulse.com/en/articles/9278382)"

# What every response metric counts; kept in one place so the descriptions agree.
_COUNTS = (
    "Received messages (comments, mentions, direct messages) with needs_response, written in the "
    "period [start, end). Automatic replies sent by rules are not answers."
)
_BUSINESS = (
    " Only time while the workspace is open counts (business hours in the inbox settings' time zone; "
    "default Saturday–Wednesday 09:00–17:00 and Thursday 09:00–13:00 in Asia/Tehran for Persian "
    "workspaces, Monday–Friday 09:00–17:00 otherwise)."
)

RESPONSE_RATE = register(
    MetricDefinition(
        name="response_rate",
        version=1,
        formula="answered ÷ received, over received messages needing a response written in the period",
        source=f"{SPROUT_ACTIVITY}; {AGORAPULSE_CM}",
        unit="ratio",
        description=(
            f"{_COUNTS} A message counts as answered if a person has answered it, at any time up to when "
            "the report is made; unanswered messages count against the rate. It does not depend on "
            "business hours, so it has no business-hours variant."
        ),
    )
)


def _time_metric(name: str, formula: str, source: str, description: str) -> tuple[MetricDefinition, ...]:
    """The all-hours definition and its ``_business_hours`` variant."""
    return (
        register(MetricDefinition(name, 1, formula + ", in elapsed seconds", source, "seconds", description)),
        register(
            MetricDefinition(
                f"{name}_business_hours",
                1,
                formula + ", counting only seconds while open (business hours)",
                f"{source}; {AGORAPULSE_HOURS}",
                "seconds",
                description + _BUSINESS,
            )
        ),
    )


FIRST_RESPONSE_TIME, FIRST_RESPONSE_TIME_BUSINESS_HOURS = _time_metric(
    "first_response_time",
    "mean over conversations of (first answer of the conversation's first received message needing "
    "a response in the period − that message's created_at)",
    SPROUT_TEAM,
    f"{_COUNTS} One value per conversation, from its first received message in the period to the first "
    "reply answering it; conversations whose first message is unanswered are left out.",
)
AVERAGE_RESPONSE_TIME, AVERAGE_RESPONSE_TIME_BUSINESS_HOURS = _time_metric(
    "average_response_time",
    "mean of (answered_at − created_at) over answered received messages needing a response",
    f"{SPROUT_TEAM}; {AGORAPULSE_CM}",
    f"{_COUNTS} One value per answered message; unanswered messages are left out.",
)
MEDIAN_RESPONSE_TIME, MEDIAN_RESPONSE_TIME_BUSINESS_HOURS = _time_metric(
    "median_response_time",
    "median of (answered_at − created_at) over answered received messages needing a response "
    "(mean of the two middle values for an even count)",
    SPROUT_TEAM,
    f"{_COUNTS} One value per answered message; unanswered messages are left out.",
)
