"""HealthPolicy Event and condition reasons: constants, so alerts and dashboards can rely on them.

Events are posted as ``reasons.Note`` (type, reason, message), like the Maintenance ones.
"""

from __future__ import annotations


class HealthReason:
    # conditions
    EVALUATED = "Evaluated"
    INVALID_SPEC = "InvalidSpec"
    NOT_EVALUATED = "NotEvaluated"
    PROMETHEUS_UNAVAILABLE = "PrometheusUnavailable"
    PROMETHEUS_AVAILABLE = "PrometheusAvailable"
    INVALID_RULE = "InvalidRule"
    RULES_VALID = "RulesValid"
    CIRCUIT_OPEN = "CircuitOpen"
    CIRCUIT_CLOSED = "CircuitClosed"
    FROZEN = "Frozen"  # a MaintenanceFreeze holds the namespace: disruptive steps wait
    NOT_FROZEN = "NotFrozen"
    NOT_STALLED = "NotStalled"
    NOTIFICATIONS_DELIVERED = "NotificationsDelivered"
    # rule and target transitions
    RULE_PENDING = "RulePending"
    RULE_FIRING = "RuleFiring"
    RULE_RESOLVED = "RuleResolved"
    RULE_REMOVED = "RuleRemoved"
    RULE_RECOVERED = "RuleRecovered"  # a rule's query works again after an error
    TOO_MANY_TARGETS = "TooManyTargets"
    # ladder steps
    ACTION_PLANNED = "ActionPlanned"
    ACTION_DRY_RUN = "ActionDryRun"
    ACTION_SKIPPED = "ActionSkipped"
    ACTION_HELD = "ActionHeld"
    ACTION_FAILED = "ActionFailed"
    ACTION_TIMED_OUT = "ActionTimedOut"
    NOTIFICATION_PLANNED = "NotificationPlanned"
    # delivery (at least once) and the finalizer's resolves
    NOTIFICATION_FAILED = "NotificationFailed"  # also the reason of NotificationsFailing=True
    NOTIFICATION_DELIVERED = "NotificationDelivered"  # after failed attempts
    RESOLVE_PENDING = "ResolvePending"  # a deleted policy waits for its resolves
    INCIDENTS_RESOLVED = "IncidentsResolved"
    INCIDENTS_LEFT_OPEN = "IncidentsLeftOpen"
    VERIFICATION_SUCCEEDED = "VerificationSucceeded"
    VERIFICATION_FAILED = "VerificationFailed"
    TARGET_IN_MAINTENANCE = "TargetInMaintenance"


class HoldReason:
    """Why a due ladder step did not run in this interval (kept in the target's status)."""

    MAINTENANCE = "Maintenance"
    FROZEN = "Frozen"  # a MaintenanceFreeze holds disruptive steps; notifications still go
    CIRCUIT_OPEN = "CircuitOpen"
    LOW_UP_RATIO = "LowOsdUpRatio"
    MAX_CONCURRENT = "MaxConcurrentDisruptive"
    MAX_OSDS_OUT = "MaxOsdsOut"
    OK_TO_STOP_UNKNOWN = "OkToStopUnknown"
    NOT_OK_TO_STOP = "NotOkToStop"
    DOMAIN_BUSY = "FailureDomainBusy"  # another failure domain is disrupted or down
    DOMAIN_UNKNOWN = "FailureDomainUnknown"
    OUT_BRAKES_UNKNOWN = "OutBrakesUnknown"  # noout flags, in ratio, fullness not read
    NOOUT = "NoOut"  # on the OSD, a CRUSH bucket above it, its device class or the cluster
    DATA_MOVEMENT_PAUSED = "DataMovementPaused"  # norebalance, nobackfill or norecover
    MIN_IN_RATIO = "MinInRatio"  # mon_osd_min_in_ratio
    DOWN_OUT_SUBTREE_LIMIT = "DownOutSubtreeLimit"  # mon_osd_down_out_subtree_limit
    WOULD_BE_NEARFULL = "WouldBeNearfull"  # nearfull_ratio
    CEPH_SAYS_UP = "CephSaysUp"
    TARGET_MISMATCH = "TargetMismatch"
    WAITING_FOR_PREVIOUS = "WaitingForPreviousStep"
