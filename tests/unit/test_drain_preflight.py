"""The drain preflight of `caretaker plan`: plan_drain's verdicts plus what the budgets say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caretaker.cli.plan.drain import budget_view
from caretaker.cli.plan.drain_output import drain_json, drain_lines
from caretaker.clients.kube.budgets import budget_from_json
from caretaker.domain.drain.preflight import (
    BudgetView,
    DrainPreflight,
    DryRun,
    PodVerdict,
    Requirement,
    drain_preflight,
    selects,
)
from caretaker.domain.drain.rules import DrainSpec, PodView, plan_drain

NOW = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


def pod(name: str, kind: str | None = "ReplicaSet", **extra: object) -> PodView:
    labels = {"app": name.split("-", maxsplit=1)[0]}
    return PodView("ns", name, kind, labels=labels, **extra)  # type: ignore[arg-type]


def budget(name: str, allowed: int | None, **labels: str) -> BudgetView:
    return BudgetView("ns", name, labels or {"app": name}, disruptions_allowed=allowed)


def reasons(verdicts: tuple[PodVerdict, ...]) -> dict[str, str]:
    return {v.pod.ref: v.reason for v in verdicts}


def preflight(
    pods: list[PodView], budgets: list[BudgetView], dry: dict[str, DryRun] | None
) -> DrainPreflight:
    return drain_preflight(plan_drain(pods, DrainSpec(), NOW), NOW, budgets, dry)


def test_rules_come_from_plan_drain_and_budgets_from_their_status() -> None:
    gone = NOW - timedelta(minutes=10)
    pods = [
        pod("web-1"),
        pod("db-1"),
        pod("bare", None),
        pod("cache-1", has_emptydir=True),
        pod("old-1", terminating=True, deleting_since=NOW - timedelta(seconds=30)),
        pod("dead-1", terminating=True, deleting_since=gone),
        pod("job-1", "Job", finished=True),
    ]
    result = preflight(pods, [budget("db", 0), budget("web", 1)], None)
    assert not result.dry_run
    assert reasons(result.evict) == {"ns/web-1": "budget ns/web allows 1 disruption(s) now"}
    blocking = reasons(result.blocking)
    assert list(blocking) == ["ns/bare", "ns/cache-1", "ns/db-1"]
    assert "no controller" in blocking["ns/bare"]
    assert "emptyDir" in blocking["ns/cache-1"]
    assert blocking["ns/db-1"].startswith("budget ns/db allows no disruption now")
    assert "its status" in blocking["ns/db-1"]
    assert reasons(result.terminating) == {
        "ns/old-1": "Terminating for 30s: waited for until it is gone"
    }
    assert list(reasons(result.stuck)) == ["ns/dead-1"]
    assert list(reasons(result.delete)) == ["ns/job-1"]
    assert not result.clear


def test_the_dry_run_answer_wins_over_a_stale_status() -> None:
    pods = [pod("db-1"), pod("web-1")]
    dry = {"ns/db-1": DryRun(False, "The disruption budget db needs 1"), "ns/web-1": DryRun(True)}
    result = preflight(pods, [budget("db", 1), budget("web", 0)], dry)
    assert result.dry_run
    assert "dry-run eviction refused" in reasons(result.blocking)["ns/db-1"]
    assert reasons(result.evict) == {"ns/web-1": "budget ns/web: dry-run eviction accepted"}


def test_a_refusal_without_a_matching_budget_keeps_the_servers_words() -> None:
    result = preflight([pod("db-1")], [], {"ns/db-1": DryRun(False, "needs 2 healthy pods")})
    assert reasons(result.blocking) == {"ns/db-1": "dry-run eviction refused: needs 2 healthy pods"}


def test_pods_beyond_what_a_budget_allows_wait_and_two_budgets_block() -> None:
    pods = [pod("web-1"), pod("web-2"), pod("api-1")]
    budgets = [budget("web", 1), budget("api", 1), budget("all", 3, tier="x")]
    result = preflight(pods, budgets, None)
    assert "evicted once the pods before it are replaced" in reasons(result.evict)["ns/web-2"]
    both = [budget("api", 1), BudgetView("ns", "api2", {"app": "api"}, disruptions_allowed=1)]
    result = preflight([pod("api-1")], both, None)
    assert result.blocking[0].budgets == ("ns/api", "ns/api2")


def test_selectors_follow_kubernetes() -> None:
    web = pod("web-1")
    assert selects(BudgetView("ns", "all", {}), web)  # empty selector: every pod
    assert not selects(BudgetView("ns", "none", {}, has_selector=False), web)
    assert not selects(BudgetView("other", "web", {"app": "web"}), web)
    exprs = (Requirement("app", "In", ("web", "api")), Requirement("tier", "DoesNotExist"))
    assert selects(BudgetView("ns", "x", {}, exprs), web)
    assert not selects(BudgetView("ns", "x", {}, (Requirement("app", "NotIn", ("web",)),)), web)
    assert selects(BudgetView("ns", "x", {}, (Requirement("app", "Exists"),)), web)


def test_a_budget_from_the_api_with_a_stale_status_has_no_verdict_of_its_own() -> None:
    obj = {
        "metadata": {"namespace": "ns", "name": "db", "generation": 2},
        "spec": {
            "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]}
        },
        "status": {"observedGeneration": 1, "disruptionsAllowed": 1},
    }
    view = budget_view(budget_from_json(obj))
    assert view.disruptions_allowed is None
    assert view.match_expressions == (Requirement("app", "In", ("db",)),)
    result = preflight([pod("db-1")], [view], None)
    assert "has no status yet" in reasons(result.blocking)["ns/db-1"]


def test_text_and_json_name_pods_and_budgets() -> None:
    result = preflight([pod("db-1"), pod("bare", None)], [budget("db", 0)], None)
    text = "\n".join(drain_lines(result))
    assert "drain: 0 to evict, 2 blocking, 0 terminating; budgets checked by their status" in text
    assert "BLOCK   ns/bare" in text
    assert "budget ns/db allows no disruption now" in text
    payload = drain_json(result)
    assert payload is not None
    assert [p["name"] for p in payload["blocking"]] == ["bare", "db-1"]
    assert payload["blocking"][1]["budgets"] == ["ns/db"]
    assert drain_lines(None) == ["       drain: off (spec.drain.enabled is false)"]
