"""Every name Caretaker writes into a cluster, in one place: the API group and its kinds, the
annotations and labels it reads and writes, its finalizers and its Lease names. Pure constants:
every layer may import this module, and it imports nothing of Caretaker's."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """How soon a person must look, for rules, routes and every notifier."""

    ROUTINE = "routine"  # during work hours
    URGENT = "urgent"  # today
    CRITICAL = "critical"  # wake someone up


# -- the API --------------------------------------------------------------------------------
GROUP = "caretaker.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
MAINTENANCE_KIND, MAINTENANCES = "Maintenance", "maintenances"
HEALTH_POLICY_KIND, HEALTH_POLICIES = "HealthPolicy", "healthpolicies"
REMEDIATION_KIND, REMEDIATIONS = "Remediation", "remediations"

# -- annotations ----------------------------------------------------------------------------
# on a Node: who owns its cordon (a Maintenance "<ns>/<name>" or "healthpolicy:<ns>/<name>")
CORDONED_BY_ANNOTATION = f"{GROUP}/cordoned-by"
# on a Maintenance: the nodes a person releases from their hold ("node-a,node-b" or "*")
RELEASE_ANNOTATION = f"{GROUP}/release"
# on a Maintenance: the approvals given with `kubectl caretaker approve` (a JSON list of
# {"by": WHO, "node": NODE or "*"}), beside spec.approvals
APPROVED_ANNOTATION = f"{GROUP}/approved"
# on a HealthPolicy being deleted: leave its incidents open instead of resolving them
LEAVE_OPEN_ANNOTATION = f"{GROUP}/leave-incidents-open"
# on the disruption ledger's Lease: every claim, as JSON
LEDGER_ANNOTATION = f"{GROUP}/disruptions"
# kopf's own bookkeeping on the objects it handles
KOPF_PREFIX = GROUP
LAST_HANDLED_KEY = "last-handled-configuration"

# -- labels on Remediation records ----------------------------------------------------------
POLICY_LABEL = f"{GROUP}/policy"
RULE_LABEL = f"{GROUP}/rule"
EPISODE_LABEL = f"{GROUP}/episode"

# -- labels on the Jobs of a Maintenance's hooks (spec.hooks[].job) --------------------------
MAINTENANCE_LABEL = f"{GROUP}/maintenance"  # the Maintenance's name (its namespace is the Job's)
HOOK_LABEL = f"{GROUP}/hook"  # the hook's name

# -- finalizers -----------------------------------------------------------------------------
FINALIZER = f"{GROUP}/finalizer"  # kopf's: cleanup before a Maintenance or policy goes

# -- Leases (in the lease namespace) --------------------------------------------------------
NODE_LEASE_PREFIX = "caretaker-node-"  # + node name: one node worked on by one actor
LEDGER_LEASE_PREFIX = "caretaker-disruptions-"  # + Ceph fsid: the disruption ledger
LEADER_LEASE = "caretaker-leader"  # leader election among operator copies

# -- other tools that may hold a node (read only) -------------------------------------------
KURED_DAEMONSET = ("kube-system", "kured")  # kured's defaults for --ds-namespace / --ds-name
