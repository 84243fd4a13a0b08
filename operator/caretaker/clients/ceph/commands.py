"""Every Ceph command the client sends, defined once: the JSON for librados and the argv for the CLI
are both derived from the same :class:`CephCommand`.

The ``ceph`` CLI maps words to arguments in the order of the command's signature, so ``args`` must
be given in that order. Arguments listed in ``named`` are passed as ``--name value`` instead (needed
when an optional argument follows a list, as ``max`` in ``osd ok-to-stop``). Names that collide with
the CLI's own options (``id``, ``key``, ``name``) must stay positional.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ArgValue = str | int | tuple[str, ...]


@dataclass(frozen=True)
class CephCommand:
    prefix: str
    args: Mapping[str, ArgValue] = field(default_factory=dict)
    named: frozenset[str] = frozenset()

    def to_json(self) -> str:
        """The mon_command body (JSON format answers)."""
        body: dict[str, object] = {"prefix": self.prefix}
        for name, value in self.args.items():
            body[name] = list(value) if isinstance(value, tuple) else value
        body["format"] = "json"
        return json.dumps(body)

    def to_argv(self) -> list[str]:
        """The words after ``ceph [options]`` for the same command."""
        argv = self.prefix.split()
        for name, value in self.args.items():
            words = list(value) if isinstance(value, tuple) else [str(value)]
            if name in self.named:
                for word in words:
                    argv += [f"--{name}", word]
            else:
                argv += words
        return argv


@dataclass(frozen=True)
class CommandReply:
    """What Ceph answered: ``ret`` is 0 or a negative errno, ``output`` the JSON text."""

    ret: int
    output: str
    message: str


def _osd_ids(osd_ids: Iterable[int]) -> tuple[str, ...]:
    return tuple(str(osd_id) for osd_id in osd_ids)


def status() -> CephCommand:
    return CephCommand("status")


def osd_tree() -> CephCommand:
    return CephCommand("osd tree")


def osd_dump() -> CephCommand:
    return CephCommand("osd dump")


def osd_df() -> CephCommand:
    return CephCommand("osd df")


def crush_dump() -> CephCommand:
    return CephCommand("osd crush dump")


def config_get(who: str, key: str) -> CephCommand:
    return CephCommand("config get", {"who": who, "key": key})


def osd_metadata() -> CephCommand:
    return CephCommand("osd metadata")


def osd_ls() -> CephCommand:
    return CephCommand("osd ls")


def set_flag(flag: str) -> CephCommand:
    return CephCommand("osd set", {"key": flag})


def unset_flag(flag: str) -> CephCommand:
    return CephCommand("osd unset", {"key": flag})


def add_noout(osd_ids: Iterable[int]) -> CephCommand:
    return CephCommand("osd add-noout", {"ids": _osd_ids(osd_ids)})


def rm_noout(osd_ids: Iterable[int]) -> CephCommand:
    return CephCommand("osd rm-noout", {"ids": _osd_ids(osd_ids)})


def set_group_flags(flags: Iterable[str], who: Iterable[str]) -> CephCommand:
    return CephCommand("osd set-group", {"flags": ",".join(flags), "who": tuple(who)})


def unset_group_flags(flags: Iterable[str], who: Iterable[str]) -> CephCommand:
    return CephCommand("osd unset-group", {"flags": ",".join(flags), "who": tuple(who)})


def osd_out(osd_ids: Iterable[int]) -> CephCommand:
    return CephCommand("osd out", {"ids": _osd_ids(osd_ids)})


def osd_in(osd_ids: Iterable[int]) -> CephCommand:
    return CephCommand("osd in", {"ids": _osd_ids(osd_ids)})


def ok_to_stop(osd_ids: Iterable[int], max_osds: int | None = None) -> CephCommand:
    args: dict[str, ArgValue] = {"ids": _osd_ids(osd_ids)}
    if max_osds is not None:
        args["max"] = max_osds
    return CephCommand("osd ok-to-stop", args, named=frozenset({"max"}))


def crush_rule_dump() -> CephCommand:
    """Every CRUSH rule."""
    return CephCommand("osd crush rule dump")
