"""The Dockerfile and .dockerignore, linted (hadolint) and checked. The image itself is built
unchanged by the testbed (hack/testbed/images.sh, base image passed as DEBIAN_IMAGE) and run as
the chart's pod in tests/e2e/test_chart_install.py; what the final stage relies on (a venv of
Debian's python3 that sees Debian's rados binding) is also reproduced here directly, on the same
Debian bookworm interpreter."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from fixtures.chart import CHART, HADOLINT, REPO, run_tool

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
CEPH_VERSION = "16.2.15+ds-0+deb12u2"
DEBIAN_PYTHON = Path("/usr/bin/python3")
RADOS_SO = Path("/usr/lib/python3/dist-packages/rados.cpython-311-x86_64-linux-gnu.so")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)

    def all(self, instruction: str) -> list[str]:
        return [self.expand(value) for name, value in self.instructions if name == instruction]

    def expand(self, text: str) -> str:
        return re.sub(r"\$\{(\w+)\}", lambda m: self.args.get(m.group(1), m.group(0)), text)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    result: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        result.append((keyword.upper(), " ".join(rest.split())))
        current = ""
    return result


def stages() -> list[Stage]:
    global_args: dict[str, str] = {}
    found: list[Stage] = []
    for keyword, value in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            parts = value.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], parts[0])
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            found.append(Stage(base, name))
        elif keyword == "ARG":
            arg, _, default = value.partition("=")
            (found[-1].args if found else global_args)[arg] = default
        else:
            found[-1].instructions.append((keyword, value))
    return found


def apt_packages(stage: Stage) -> dict[str, str]:
    """package -> pinned version of every `apt-get install` of the stage ('' if unpinned)."""
    packages: dict[str, str] = {}
    for run in stage.all("RUN"):
        for command in run.split("&&"):
            words = shlex.split(command)
            if words[:2] != ["apt-get", "install"]:
                continue
            assert "--no-install-recommends" in words, command
            for word in words[2:]:
                if not word.startswith("-"):
                    name, _, version = word.partition("=")
                    packages[name] = version
    return packages


def test_hadolint_is_clean() -> None:
    out = run_tool(HADOLINT, "--failure-threshold", "style", DOCKERFILE)
    assert out.strip() == "", out


def test_two_stages_on_debian_bookworm() -> None:
    builder, final = stages()
    assert builder.name == "builder"
    assert final.name is None
    for stage in (builder, final):
        assert "bookworm" in stage.base, stage.base
        assert not stage.base.endswith(":latest")


def test_debian_packages_are_pinned_and_exist_in_bookworm() -> None:
    builder, final = stages()
    runtime = apt_packages(final)
    assert runtime["ceph-common"] == CEPH_VERSION
    assert runtime["python3-rados"] == CEPH_VERSION
    assert set(runtime) == {"ca-certificates", "ceph-common", "python3", "python3-rados"}
    for stage in (builder, final):
        packages = apt_packages(stage)
        assert packages, f"stage {stage.name} installs nothing?"
        for name, version in packages.items():
            assert version, f"{name} is not pinned"
            madison = subprocess.run(
                ["apt-cache", "madison", name], capture_output=True, text=True, check=False
            ).stdout
            known = {line.split("|")[1].strip() for line in madison.splitlines() if "|" in line}
            assert version in known, (
                f"{name}={version} is not in this bookworm machine's apt lists {sorted(known)} "
                "(stale pin, or run apt-get update)"
            )
        for run in stage.all("RUN"):
            if "apt-get install" in run:
                assert "rm -rf /var/lib/apt/lists/*" in run, "apt lists must go in the same layer"
                assert "apt-get update" in run


def test_the_pinned_python_is_the_one_the_rados_binding_was_built_for() -> None:
    """Debian's python3-rados is a CPython 3.11 binary module for /usr/bin/python3."""
    _, final = stages()
    python3 = apt_packages(final)["python3"]
    installed = run_tool("dpkg-query", "-W", "-f=${Version}", "python3")
    assert python3 == installed, "the image's python3 differs from this bookworm machine's"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11,<3.12"
    assert RADOS_SO.exists(), "python3-rados missing: run `make testbed-install`"


def test_venv_of_debian_python_with_system_site_packages_imports_rados(tmp_path: Path) -> None:
    """What the image does: `python3 -m venv --without-pip --system-site-packages` from
    Debian's interpreter. Without system site-packages the binding is invisible."""
    builder, final = stages()
    venv_runs = [r for r in builder.all("RUN") if "-m venv --without-pip" in r]
    assert len(venv_runs) == 1
    assert "python3 -m venv --without-pip --system-site-packages /opt/caretaker" in venv_runs[0]
    assert "/opt/caretaker" in " ".join(final.all("COPY"))
    venv = tmp_path / "venv"
    run_tool(DEBIAN_PYTHON, "-m", "venv", "--without-pip", "--system-site-packages", venv)
    probe = "import rados, sys; print(sys.version_info[:2] == (3, 11), rados.__file__)"
    out = run_tool(venv / "bin" / "python", "-c", probe)
    assert out.split() == ["True", str(RADOS_SO)]
    isolated = tmp_path / "isolated"
    run_tool(DEBIAN_PYTHON, "-m", "venv", "--without-pip", isolated)
    done = subprocess.run(
        [str(isolated / "bin" / "python"), "-c", "import rados"], capture_output=True, check=False
    )
    assert done.returncode != 0


def test_final_stage_has_no_build_tools() -> None:
    _, final = stages()
    runs = " ".join(final.all("RUN"))
    for tool in ("pip install", "python -m build", "gcc", "build-essential", "-dev", "wheel"):
        assert tool not in runs, tool
    copies = final.all("COPY")
    assert copies == ["--from=builder /opt/caretaker /opt/caretaker"], copies


def test_runs_caretaker_as_a_non_root_user() -> None:
    _, final = stages()
    user = final.all("USER")[-1]
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), "numeric UID: Kubernetes runAsNonRoot can only verify numbers"
    assert int(uid) != 0
    assert gid.isdigit()
    assert int(gid) != 0
    assert json.loads(final.all("ENTRYPOINT")[-1]) == ["caretaker"]
    assert json.loads(final.all("CMD")[-1]) == ["run", "--all-namespaces"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["caretaker"] == "caretaker.cli.main:main"
    from caretaker.cli.main import build_parser  # noqa: PLC0415
    from caretaker.settings.flags import settings_from_args  # noqa: PLC0415

    assert settings_from_args(build_parser().parse_args(["run", "--all-namespaces"])).all_namespaces
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == int(uid), "chart and image disagree"
    assert values["podSecurityContext"]["runAsGroup"] == int(gid)


def test_pip_and_build_tools_are_pinned() -> None:
    builder, _ = stages()
    for run in builder.all("RUN"):
        if "pip install" not in run:
            continue
        words = shlex.split(run.split("pip install", 1)[1].split("&&")[0])
        for word in words:
            if word.startswith("-"):
                continue
            assert "==" in word or word.endswith(".whl"), f"unpinned: {word}"


def dockerignore_keeps(path: str) -> bool:
    """Docker's rule for top-level names: the last matching pattern wins, `!` re-includes."""
    keep = True
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern):
            keep = negate
    return keep


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    builder, _ = stages()
    sources = []
    for copy in builder.all("COPY"):
        if copy.startswith("--from"):
            continue
        *srcs, _ = copy.split()
        sources += srcs
    assert sources, "builder copies nothing?"
    for source in sources:
        assert dockerignore_keeps(source.rstrip("/")), f"{source} is excluded from the context"
    for heavy in (".venv", ".git", "tests", "charts", "bench", "hack", ".mypy_cache"):
        assert not dockerignore_keeps(heavy), f"{heavy} would be sent to the build"


@pytest.mark.parametrize("root", ["operator"])
def test_package_symlinks_point_into_the_build_context(root: str) -> None:
    """operator/caretaker/crds links to crds/: the build must copy the target too."""
    builder, _ = stages()
    copied = {c.split()[0].rstrip("/") for c in builder.all("COPY") if not c.startswith("--")}
    for link in (REPO / root).rglob("*"):
        if link.is_symlink():
            target = link.resolve().relative_to(REPO)
            assert target.parts[0] in copied, f"{link} -> {target}: not copied into the build"
            assert dockerignore_keeps(target.parts[0])
