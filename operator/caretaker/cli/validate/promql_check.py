"""PromQL syntax checked offline with Prometheus's own parser: ``promtool check rules`` on a
generated rule file with one group per expression (so each error names its expression)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROMTOOL_ENV = "CARETAKER_PROMTOOL"
TIMEOUT_SECONDS = 60
NOT_FOUND = "PromQL not checked (promtool not found)"
_GROUP_ERROR = re.compile(r'group "expr-(\d+)", rule \d+, "[^"]*": (.*)$')
_PARSE_PREFIX = "could not parse expression: "


@dataclass(frozen=True)
class PromqlCheck:
    """The outcome for a list of expressions: ``problems`` maps an index to its parse error."""

    promtool: str | None  # None: not found, nothing was checked
    problems: dict[int, str] = field(default_factory=dict)
    failure: str = ""  # promtool failed without naming an expression

    @property
    def checked(self) -> bool:
        return self.promtool is not None and not self.failure


def find_promtool(explicit: str | None = None) -> str | None:
    """``--promtool``, else $CARETAKER_PROMTOOL, else ``promtool`` on PATH (Debian: prometheus)."""
    given = explicit or os.environ.get(PROMTOOL_ENV)
    if given:
        return shutil.which(given) or (given if Path(given).is_file() else None)
    return shutil.which("promtool")


def rule_file(exprs: Sequence[str]) -> str:
    """A Prometheus rule file with each expression as the only recording rule of its group."""
    groups = [
        {"name": f"expr-{i}", "rules": [{"record": f"caretaker:validate:expr_{i}", "expr": e}]}
        for i, e in enumerate(exprs)
    ]
    return yaml.safe_dump({"groups": groups}, sort_keys=False)


def check_exprs(exprs: Sequence[str], promtool: str | None) -> PromqlCheck:
    """Parses every expression with promtool (one run); nothing to check is a success."""
    if promtool is None:
        return PromqlCheck(None)
    if not exprs:
        return PromqlCheck(promtool)
    with tempfile.TemporaryDirectory(prefix="caretaker-validate-") as folder:
        path = Path(folder) / "rules.yaml"
        path.write_text(rule_file(exprs), encoding="utf-8")
        try:
            done = subprocess.run(
                [promtool, "check", "rules", str(path)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return PromqlCheck(promtool, failure=f"promtool did not run: {error}")
    output = f"{done.stdout}\n{done.stderr}"
    problems: dict[int, str] = {}
    for line in output.splitlines():
        match = _GROUP_ERROR.search(line)
        if match:
            index, message = int(match.group(1)), match.group(2).strip()
            problems[index] = message.removeprefix(_PARSE_PREFIX)
    if done.returncode != 0 and not problems:
        tail = " ".join(output.split())[-500:]
        return PromqlCheck(promtool, failure=f"promtool check rules failed: {tail}")
    return PromqlCheck(promtool, problems)
