"""Event and condition reasons: constants, so alerts and dashboards can rely on them."""

from __future__ import annotations

from dataclasses import dataclass

NORMAL = "Normal"
WARNING = "Warning"


class Reason:
    INVALID_SPEC = "InvalidSpec"
    TARGETS_NOT_FOUND = "TargetsNotFound"
    WINDOW_OVER = "WindowOver"
    WAITING_FOR_WINDOW = "WaitingForWindow"
    SUSPENDED = "Suspended"
    GATE_NOT_HELD = "GateNotHeld"
    CEPH_UNAVAILABLE = "CephUnavailable"
    NODE_PREFLIGHT = "NodePreflight"
    NODE_REFUSED = "NodeRefused"  # which OSDs the node carries cannot be told: not touched
    NODE_DRAINING = "NodeDraining"
    NODE_IN_MAINTENANCE = "NodeInMaintenance"
    NODE_RELEASED = "NodeReleased"
    NODE_COMPLETED = "NodeCompleted"
    NODE_FAILED = "NodeFailed"
    NODE_ROLLED_BACK = "NodeRolledBack"
    NOOUT_SET = "NooutSet"
    NOOUT_LIFTED = "NooutLifted"
    NOOUT_EXPIRED = "NooutExpired"
    CORDONED = "Cordoned"
    UNCORDONED = "Uncordoned"
    ABORTING = "Aborting"
    COMPLETED = "Completed"
    FAILED = "Failed"
    ABORTED = "Aborted"
    PROGRESSING = "Progressing"
    CLEANED_UP = "CleanedUp"
    ACTION_FAILED = "ActionFailed"
    FROZEN = "Frozen"  # a MaintenanceFreeze holds: no node starts
    NOT_FROZEN = "NotFrozen"
    # spec.approval: Events, and the reasons of the Approved condition
    APPROVED = "Approved"
    AWAITING_APPROVAL = "AwaitingApproval"
    APPROVAL_WITHDRAWN = "ApprovalWithdrawn"
    APPROVAL_NOT_REQUIRED = "NotRequired"
    # spec.silence: Events, and the reasons of the Silenced condition
    SILENCED = "Silenced"
    SILENCE_EXPIRED = "SilenceExpired"
    SILENCE_FAILED = "SilenceFailed"
    SILENCE_HELD = "Held"
    SILENCE_NOT_HELD = "NotHeld"
    SILENCE_LAPSED = "MaxDurationReached"
    # spec.hooks: Events, and the reasons of the HooksSucceeded condition
    HOOK_SUCCEEDED = "HookSucceeded"
    HOOK_FAILED = "HookFailed"
    HOOKS_SUCCEEDED = "HooksSucceeded"
    HOOKS_PENDING = "HooksPending"
    # spec.notifications: Events, and the reasons of the NotificationsDelivered condition
    NOTIFICATION_FAILED = "NotificationFailed"
    NOTIFICATIONS_DELIVERED = "Delivered"
    NOTIFICATIONS_PENDING = "Retrying"
    NOTIFICATIONS_GAVE_UP = "GaveUp"


@dataclass(frozen=True)
class Note:
    """An Event the executor should post about the Maintenance."""

    type: str
    reason: str
    message: str
