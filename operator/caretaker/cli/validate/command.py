"""`caretaker validate PATH...`: offline checks of Caretaker manifests for GitOps pipelines.

Exit status: 0 when every document is valid (warnings allowed unless --strict), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TextIO

from caretaker.cli.validate.crds import CrdsMissing
from caretaker.cli.validate.documents import FindingLevel, Report, validate_documents
from caretaker.cli.validate.manifests import read_documents
from caretaker.cli.validate.promql_check import PROMTOOL_ENV, find_promtool

EPILOG = """\
checks, in order: the YAML (a key given twice is an error, as for kubectl; every manifest of a
YAML list or a kind: List is checked), the CRD's schema (types, enums, required and unknown
fields), the operator's own checks of the spec (cron, time zones, durations, label selectors,
URLs, presets, ladders...; and a one-off window that is already over), PromQL syntax with
promtool (from Debian's prometheus package). Lines read FILE:DOC#N: KIND/NAME: FIELD: MESSAGE,
with DOC#N.items[I] (kind: List) or DOC#N[I] (a YAML list) for an item of a list.
"""


def add_validate_command(commands: Any) -> None:
    """Registers `validate` on the `caretaker` sub-command parsers."""
    parser = commands.add_parser(
        "validate",
        help="check Maintenance and HealthPolicy manifests offline",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="manifest file, directory (recursive) or -"
    )
    parser.add_argument("--output", "-o", choices=["text", "json"], default="text")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="warnings (unknown kinds, PromQL not checked, duplicates) fail the check too",
    )
    parser.add_argument(
        "--promtool", default=None, help=f"promtool to use (default: ${PROMTOOL_ENV}, then PATH)"
    )


def run_validate(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        documents = read_documents(args.paths)
        report = validate_documents(documents, find_promtool(args.promtool), datetime.now(UTC))
    except CrdsMissing as error:
        err.write(f"caretaker validate: {error}\n")
        return 1
    ok = report.ok(strict=args.strict)
    if args.output == "json":
        json.dump(report_json(report, ok=ok, strict=args.strict), out, indent=2)
        out.write("\n")
    else:
        for finding in report.findings:
            out.write(f"{finding}\n")
        err.write(summary(report, ok=ok) + "\n")
    return 0 if ok else 1


def summary(report: Report, *, ok: bool) -> str:
    errors, warnings = report.count(FindingLevel.ERROR), report.count(FindingLevel.WARNING)
    checked = sum(d.result != "skipped" for d in report.documents)
    skipped = len(report.documents) - checked
    verdict = "OK" if ok else "FAILED"
    return (
        f"{verdict}: {checked} Caretaker document(s) checked, {skipped} skipped; "
        f"{errors} error(s), {warnings} warning(s); {report.promql}"
    )


def report_json(report: Report, *, ok: bool, strict: bool) -> dict[str, Any]:
    return {
        "ok": ok,
        "strict": strict,
        "errors": report.count(FindingLevel.ERROR),
        "warnings": report.count(FindingLevel.WARNING),
        "promql": report.promql,
        "documents": [asdict(d) for d in report.documents],
        "findings": [{**asdict(f), "text": str(f)} for f in report.findings],
    }
