"""Runs one planned ladder step (never a notify step: those are notifications) and says how it
went. Every failure becomes a failed outcome with a message; nothing is raised.

restartOsd evicts the OSD's pod in the Rook namespace when the OSD is up (Rook's budget
decides), deletes it when the OSD is down already (Rook's Deployment starts a new one);
without ``--rook-namespace`` Caretaker cannot restart a daemon and says so. markIn acts only
on OSDs that Caretaker marked out (a record says so); setFlag never takes over a flag that is
already set, and unsetFlag lifts only a flag one of Caretaker's setFlag steps set
(``domain.health.flags``). Cordon and drain record the policy as the cordon's owner, so they
never take over someone else's cordon.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from kubernetes.client import ApiClient

from caretaker.clients.ceph import CephClient, CephError
from caretaker.clients.ceph.commands import CephCommand
from caretaker.clients.ceph.replies import raise_for_reply
from caretaker.clients.kube.api import KubeApiError, api_path, list_items, request_json
from caretaker.clients.kube.eviction import BlockedByBudget, evict_pod
from caretaker.clients.kube.nodes import Taint as NodeTaint
from caretaker.clients.kube.nodes import add_taint, cordon_for
from caretaker.clients.kube.pods import pods_on_node
from caretaker.clients.kube.secrets import SecretUnavailable, read_secret_value
from caretaker.clients.notify import DeliveryFailed, JsonValue, Secret, WebhookClient
from caretaker.domain.disruption.ledger import Claim
from caretaker.domain.drain.rules import describe_drain, plan_drain
from caretaker.domain.health.actions import (
    Cordon,
    Drain,
    MarkIn,
    MarkOut,
    PgRepair,
    RestartOsd,
    SetFlag,
    Taint,
    UnsetFlag,
    Webhook,
    kind_of,
)
from caretaker.domain.health.flags import set_refusal, unset_refusal
from caretaker.domain.health.keys import PolicyRef
from caretaker.domain.health.ledger import flag_set_by_caretaker, marked_out_by_caretaker
from caretaker.domain.health.outputs import PlannedAction
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.targets import TargetKind
from caretaker.handlers.drain.round import pod_view, run_plan
from caretaker.handlers.health.ceph import HealthCeph
from caretaker.handlers.health.node_lease import NodeLeases, give_node, take_node
from caretaker.handlers.health.notify import NOTIFY_RETRY, NOTIFY_TIMEOUT

ROOK_OSD_SELECTOR = "app=rook-ceph-osd,ceph-osd-id={}"
EVENT_VERSION = "caretaker.remediation/v1"


@dataclass(frozen=True)
class ActionContext:
    kube: ApiClient
    ceph: HealthCeph
    policy: PolicyRef
    rook_namespace: str | None
    records: Sequence[RemediationView]
    claims: Sequence[Claim] = ()  # the disruption ledger
    leases: NodeLeases | None = None  # node actions take the node's Lease (node_lease)

    @property
    def identity(self) -> str:
        """Who owns a cordon this policy made."""
        return f"healthpolicy:{self.policy.namespace}/{self.policy.name}"


@dataclass(frozen=True)
class ActionOutcome:
    ok: bool
    message: str
    draining: bool = False  # a drain round left pods on the node: the step goes on


def run_action(ctx: ActionContext, planned: PlannedAction) -> ActionOutcome:
    try:
        return _run(ctx, planned)
    except (CephError, KubeApiError, DeliveryFailed, SecretUnavailable, ValueError) as error:
        return ActionOutcome(False, f"{kind_of(planned.action)} failed: {error}")


def _run(ctx: ActionContext, planned: PlannedAction) -> ActionOutcome:
    action, target = planned.action, planned.target
    osd, node = target.osd_id, target.node_name
    if isinstance(action, Webhook):
        return _webhook(ctx, planned, action)
    if isinstance(action, RestartOsd) and osd is not None:
        return _restart_osd(ctx, osd, evict=planned.claim is not None)
    if isinstance(action, Cordon | Drain | Taint) and node:
        return _node_action(ctx, action, node)
    ceph = _ceph(ctx)
    if isinstance(action, MarkOut) and osd is not None:
        ceph.mark_out([osd])
        return ActionOutcome(True, f"ceph osd out osd.{osd}")
    if isinstance(action, MarkIn) and osd is not None:
        if not marked_out_by_caretaker(ctx.records, osd, ctx.claims):
            return ActionOutcome(False, f"osd.{osd} was not marked out by Caretaker: left alone")
        ceph.mark_in([osd])
        return ActionOutcome(True, f"ceph osd in osd.{osd}")
    if isinstance(action, SetFlag):
        if action.flag in ceph.cluster_flags():
            return ActionOutcome(False, set_refusal(action.flag))
        ceph.set_flag(str(action.flag))
        return ActionOutcome(True, f"ceph osd set {action.flag}")
    if isinstance(action, UnsetFlag):
        if flag_set_by_caretaker(ctx.records, action.flag) is None:
            return ActionOutcome(False, unset_refusal(action.flag))
        ceph.unset_flag(str(action.flag))
        return ActionOutcome(True, f"ceph osd unset {action.flag}")
    if isinstance(action, PgRepair):
        return _pg_repair(ceph, target.kind, target.name)
    return ActionOutcome(False, f"{kind_of(action)} cannot act on {target.key}")


def _ceph(ctx: ActionContext) -> CephClient:
    if ctx.ceph.client is None:
        raise ValueError(f"no Ceph connection: {ctx.ceph.error}")
    return ctx.ceph.client


def _restart_osd(ctx: ActionContext, osd: int, *, evict: bool) -> ActionOutcome:
    """An OSD that is up is restarted through the Eviction API (Rook's OSD budget decides); one
    that is down already is restarted by deleting its pod."""
    namespace = ctx.rook_namespace
    if not namespace:
        return ActionOutcome(
            False,
            f"restartOsd needs Rook (--rook-namespace): without it Caretaker cannot restart "
            f"the osd.{osd} daemon",
        )
    selector = ROOK_OSD_SELECTOR.format(osd)
    path = api_path("/api/v1/namespaces/{}/pods", namespace)
    pods = [p["metadata"]["name"] for p in list_items(ctx.kube, path, {"labelSelector": selector})]
    if not pods:
        return ActionOutcome(False, f"no pod of osd.{osd} in {namespace} ({selector})")
    if not evict:
        for pod in pods:
            request_json(ctx.kube, "DELETE", path + api_path("/{}", pod))
        return ActionOutcome(
            True, f"deleted pod {', '.join(pods)} in {namespace}: Rook restarts it"
        )
    for pod in pods:
        result = evict_pod(ctx.kube, namespace, pod, None)
        if isinstance(result, BlockedByBudget):
            return ActionOutcome(
                False, f"eviction of pod {namespace}/{pod} refused: {result.message}"
            )
    return ActionOutcome(True, f"evicted pod {', '.join(pods)} in {namespace}: Rook restarts it")


def _node_action(ctx: ActionContext, action: Cordon | Drain | Taint, node: str) -> ActionOutcome:
    """On a node no other tool holds, with its Lease (released when done, kept while draining)."""
    if ctx.leases is None:
        return _on_node(ctx, action, node)
    held = take_node(ctx.kube, ctx.leases, node, ctx.identity)
    if held is not None:
        return ActionOutcome(False, f"{kind_of(action)} skipped: {held}; left alone")
    outcome = _on_node(ctx, action, node)
    if not outcome.draining:
        give_node(ctx.kube, ctx.leases, node, ctx.identity)
    return outcome


def _on_node(ctx: ActionContext, action: Cordon | Drain | Taint, node: str) -> ActionOutcome:
    if isinstance(action, Taint):
        taint = NodeTaint(action.key, str(action.effect), action.value or None)
        changed = add_taint(ctx.kube, node, taint)
        state = "added" if changed else "already there"
        return ActionOutcome(True, f"taint {action.key}:{action.effect} on {node} {state}")
    ours = cordon_for(ctx.kube, node, ctx.identity)
    owner = "" if ours else " (already cordoned by someone else)"
    if isinstance(action, Cordon):
        return ActionOutcome(True, f"cordoned {node}{owner}")
    return _drain(ctx, node, action, owner)


def _drain(ctx: ActionContext, node: str, action: Drain, owner: str) -> ActionOutcome:
    """One eviction round by the Maintenance drain's rules (the loop must not block). Pods the
    options forbid to evict fail the step at once, as in kubectl; pods a budget refused or
    still stopping leave it Draining: the evaluation plans the next round, until the timeout."""
    pods = [pod_view(p) for p in pods_on_node(ctx.kube, node)]
    plan = plan_drain(pods, action.options, datetime.now(UTC))
    if plan.done:
        return ActionOutcome(True, f"cordoned {node}{owner}; drained")
    done = run_plan(ctx.kube, plan, action.grace_period_seconds)
    summary = f"cordoned {node}{owner}; evicted {done.evicted} pod(s)"
    if done.deleted:
        summary += f", deleted {done.deleted} finished pod(s)"
    if plan.blocking:
        return ActionOutcome(False, f"{summary}; {describe_drain(plan)}")
    left = f"blocked: {'; '.join(done.blocked)}" if done.blocked else describe_drain(plan)
    return ActionOutcome(True, f"{summary}; draining, {left}", draining=True)


def _pg_repair(ceph: CephClient, kind: TargetKind, name: str) -> ActionOutcome:
    if kind is TargetKind.PG:
        pgs = [name]
    else:
        listing = CephCommand("pg ls-by-pool", {"poolstr": name, "states": ("inconsistent",)})
        reply = ceph.send(listing)
        raise_for_reply(listing, reply)
        stats = json.loads(reply.output or "{}")
        entries = stats.get("pg_stats", []) if isinstance(stats, dict) else stats
        pgs = sorted(str(entry["pgid"]) for entry in entries)
    for pgid in pgs:
        command = CephCommand("pg repair", {"pgid": pgid})
        raise_for_reply(command, ceph.send(command))
    if not pgs:
        return ActionOutcome(True, f"no inconsistent PG in pool {name}")
    return ActionOutcome(True, f"ceph pg repair {', '.join(pgs)}")


def _webhook(ctx: ActionContext, planned: PlannedAction, action: Webhook) -> ActionOutcome:
    url: str | Secret = action.url
    if action.url_secret is not None:
        ref = action.url_secret
        url = read_secret_value(ctx.kube, ctx.policy.namespace, ref.name, ref.key)
    client = WebhookClient(
        url, name="action", headers=dict(action.headers), timeout=NOTIFY_TIMEOUT, retry=NOTIFY_RETRY
    )
    delivered = client.send(_event(ctx.policy, planned), idempotency_key=planned.key)
    return ActionOutcome(True, f"webhook accepted (HTTP {delivered.status})")


def _event(policy: PolicyRef, planned: PlannedAction) -> dict[str, JsonValue]:
    """What an automation receives: enough to act on the target without asking back."""
    target = planned.target
    return {
        "version": EVENT_VERSION,
        "idempotencyKey": planned.key,
        "record": planned.record_name,
        "policy": f"{policy.namespace}/{policy.name}",
        "rule": planned.rule,
        "severity": str(planned.severity),
        "step": planned.step,
        "target": target.key,
        "kind": str(target.kind),
        "name": target.name,
        "node": target.node_name,
        "osd": target.osd_id,
        "summary": planned.summary,
    }
