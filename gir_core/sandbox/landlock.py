"""Landlock (Linux ≥ 5.13) through ctypes: file-system and TCP restrictions without root.

Landlock lets an unprivileged process give up access to everything except an allow-list, for
itself and every child it ever creates. We allow reading the Python runtime and the libraries the
model runtime needs, writing nowhere, and (ABI ≥ 4) no TCP at all — so a hostile model cannot
read ground truth, hidden task specs or secrets, and cannot phone home even where network
namespaces are unavailable. Constants and struct layouts follow ``linux/landlock.h``.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterable
from dataclasses import dataclass

_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_RULE_NET_PORT = 2
_PR_SET_NO_NEW_PRIVS = 38

# File-system access rights, by the ABI version that introduced them.
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
_FS_V1 = (1 << 13) - 1  # EXECUTE … MAKE_SYM
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = EXECUTE | READ_FILE | READ_DIR

_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _errno_text() -> str:
    return os.strerror(ctypes.get_errno())


def abi_version() -> int:
    """The running kernel's Landlock ABI version, or 0 when Landlock is unavailable."""
    version = _libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(int(version), 0)


# What each later ABI adds, by name: on an older kernel each is a protection MISSING, and says so.
ABI_PROTECTIONS = (
    (3, "file truncation (Landlock)", "truncate() of files"),
    (4, "TCP (Landlock)", "TCP connect and bind"),
    (5, "device IOCTL (Landlock)", "ioctl() on device files"),
    (6, "signals and abstract Unix sockets (Landlock)", "signals to and abstract Unix sockets of "
     "processes outside the sandbox"),
)  # fmt: skip


def abi_protections(abi: int) -> list[tuple[str, bool, str]]:
    """(name, active, detail) of each protection that depends on the ABI version ``abi``.

    Example:
        >>> [(name, ok) for name, ok, _ in abi_protections(4)][1:3]
        [('TCP (Landlock)', True), ('device IOCTL (Landlock)', False)]
    """
    rows = []
    for needed, name, what in ABI_PROTECTIONS:
        if abi >= needed:
            rows.append((name, True, f"{what} denied"))
        elif abi < 1:
            rows.append((name, False, f"{what} not restricted: Landlock unavailable"))
        else:
            reason = f"{what} not restricted: the kernel offers Landlock ABI {abi}, needs {needed}"
            rows.append((name, False, reason))
    return rows


@dataclass(frozen=True)
class LandlockResult:
    """What was enforced: the ABI, whether TCP and signals/abstract sockets are also scoped."""

    abi: int
    network: bool
    scoped: bool
    skipped_paths: tuple[str, ...]


def _handled_fs(abi: int) -> int:
    rights = _FS_V1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _add_path(ruleset: int, path: str, access: int, handled: int) -> bool:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        allowed = access & handled
        if not os.path.isdir(path):
            allowed &= _FILE_ONLY
        attr = _PathBeneathAttr(allowed, fd)
        code = _libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(attr), 0)
        if code != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule({path}): {_errno_text()}")
        return True
    finally:
        os.close(fd)


def restrict(read: Iterable[str], read_write: Iterable[str] = ()) -> LandlockResult:
    """Allow only ``read`` (and ``read_write``) paths from now on; no TCP where the ABI allows.

    Irreversible for this process and its children. Paths that do not exist are skipped and
    reported. Raises OSError when the kernel refuses (callers report the protection as missing).
    """
    abi = abi_version()
    if abi < 1:
        raise OSError("Landlock is not available on this kernel")
    handled = _handled_fs(abi)
    attr = _RulesetAttr(handled, 0, 0)
    size = 8
    if abi >= 4:
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL
        size = 24
    ruleset = _libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), f"landlock_create_ruleset: {_errno_text()}")
    skipped: list[str] = []
    try:
        for path in dict.fromkeys(read):
            if not _add_path(int(ruleset), path, READ, handled):
                skipped.append(path)
        for path in dict.fromkeys(read_write):
            rw = READ | WRITE_FILE | TRUNCATE | IOCTL_DEV
            if not _add_path(int(ruleset), path, rw, handled):
                skipped.append(path)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl(NO_NEW_PRIVS): {_errno_text()}")
        if _libc.syscall(_SYS_RESTRICT_SELF, int(ruleset), 0) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_restrict_self: {_errno_text()}")
    finally:
        os.close(int(ruleset))
    return LandlockResult(abi=abi, network=abi >= 4, scoped=abi >= 6, skipped_paths=tuple(skipped))
