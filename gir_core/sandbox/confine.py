"""Confinement the model's child process applies to itself before it reads a single model byte.

Order matters: drop root first (so the process and thread caps count against an unprivileged
uid), then new user + network namespaces (only possible while single-threaded), then — after the
model runtime is imported — Landlock and the resource limits. Each protection reports whether it
is active; a missing one is never silent (SPEC §6: say so loudly).
"""

from __future__ import annotations

import ctypes
import glob
import os
import resource
import sys
from dataclasses import dataclass, field

from gir_core.sandbox import landlock, seccomp

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
NOBODY = 65534
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class Protections:
    """Which protections are active in the child, with a reason for each missing one."""

    active: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, ok: bool, detail: str) -> None:
        """Record one protection as active (with a detail) or missing (with the reason)."""
        (self.active if ok else self.missing)[name] = detail


def _world_readable(path: str) -> bool:
    """True when ``nobody`` could reach ``path``: every ancestor directory has o+x."""
    current = os.path.realpath(path)
    while True:
        try:
            if not os.stat(current).st_mode & 0o001:
                return False
        except OSError:
            return False
        parent = os.path.dirname(current)
        if parent == current:
            return True
        current = parent


def drop_root(protections: Protections) -> None:
    """If running as root, become ``nobody`` with no supplementary groups.

    Only when ``nobody`` can read the Python runtime (a pyenv under /root cannot); otherwise
    the child stays uid 0, but inside its own user namespace, so without root's capabilities.
    """
    if os.geteuid() != 0:
        protections.add("unprivileged user", True, f"runs as uid {os.geteuid()} (not root)")
        return
    blocked = [p for p in (sys.base_prefix, sys.prefix) if not _world_readable(p)]
    if blocked:
        reason = f"stays uid 0 without capabilities: {blocked[0]} is not readable by nobody"
        protections.add("unprivileged user", False, reason)
        return
    try:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
        protections.add("unprivileged user", True, "dropped root to uid 65534 (nobody)")
    except OSError as error:
        protections.add("unprivileged user", False, f"could not drop root: {error}")


def isolate_network(protections: Protections) -> None:
    """Enter new user and network namespaces: the only interface is a down loopback."""
    if _libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) == 0:
        protections.add("network namespace", True, "no interfaces: every connect fails")
        return
    reason = os.strerror(ctypes.get_errno())
    protections.add("network namespace", False, f"unshare(user+net) refused: {reason}")


def runtime_read_paths() -> list[str]:
    """What the model runtime must read: Python, site-packages, system libraries, CPU info."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    paths |= {os.path.realpath(p) for p in list(paths)}
    paths |= {p for p in sys.path if p and os.path.isdir(p) and not _is_project_root(p)}
    paths |= {"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/opt/conda"}
    paths |= {f"/etc/{name}" for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d")}
    paths |= {f"/etc/{name}" for name in ("localtime", "nsswitch.conf", "passwd", "group")}
    paths |= {"/proc/self", f"/proc/{os.getpid()}", "/proc/cpuinfo", "/proc/meminfo"}
    paths |= {"/proc/stat", "/sys/devices/system/cpu", "/sys/fs/cgroup", "/proc/driver/nvidia"}
    paths |= {"/dev/urandom", "/dev/random", "/dev/zero"}
    paths |= _package_dirs()
    return sorted(paths)


def _is_project_root(path: str) -> bool:
    # An editable install puts the project root on sys.path; it holds data we never expose.
    return os.path.isfile(os.path.join(path, "pyproject.toml"))


def _package_dirs() -> set[str]:
    import gir_core

    return {os.path.dirname(os.path.abspath(gir_core.__file__))}


def device_paths() -> list[str]:
    """Read-write devices: /dev/null and, on GPU hosts, the NVIDIA device files."""
    return ["/dev/null", *sorted(glob.glob("/dev/nvidia*")), *sorted(glob.glob("/dev/dri/*"))]


def restrict_files(protections: Protections) -> None:
    """Landlock: read only the runtime, write nothing but /dev/null (and GPU devices), no TCP.

    Each protection a later Landlock ABI adds (truncation, TCP, device ioctl, signal and
    abstract-socket scoping) is reported on its own, MISSING with the ABI it needs on older
    kernels.
    """
    try:
        result = landlock.restrict(runtime_read_paths(), device_paths())
    except OSError as error:
        protections.add("file access (Landlock)", False, str(error))
        abi = 0
    else:
        protections.add("file access (Landlock)", True, f"ABI {result.abi}: runtime read-only")
        abi = result.abi
    for name, ok, detail in landlock.abi_protections(abi):
        protections.add(name, ok, detail)


def filter_syscalls(protections: Protections) -> None:
    """Seccomp: threads yes; fork, vfork, exec, Unix sockets and io_uring no."""
    names = {
        "no new processes (seccomp)": "fork/vfork/exec fail; threads only",
        "no Unix sockets (seccomp)": "socket/socketpair(AF_UNIX) fail: no socket files reachable",
        "no io_uring (seccomp)": "io_uring_setup/enter/register fail",
    }
    try:
        seccomp.install()
    except OSError as error:
        for name in names:
            protections.add(name, False, str(error))
        return
    for name, detail in names.items():
        protections.add(name, True, detail)


@dataclass(frozen=True)
class ResourceLimits:
    """Kernel limits set on the child (bytes and seconds; 0 disables that limit)."""

    address_space: int = 0
    data: int = 0
    cpu_seconds: int = 0
    processes: int = 0
    open_files: int = 256


def set_limits(limits: ResourceLimits, protections: Protections) -> None:
    """Apply rlimits: memory, CPU time, no file growth, no core dumps, thread/process cap."""
    wanted = {
        "memory (RLIMIT_AS)": (resource.RLIMIT_AS, limits.address_space),
        "memory (RLIMIT_DATA)": (resource.RLIMIT_DATA, limits.data),
        "CPU time": (resource.RLIMIT_CPU, limits.cpu_seconds),
        "processes/threads": (resource.RLIMIT_NPROC, limits.processes),
        "open files": (resource.RLIMIT_NOFILE, limits.open_files),
        "file writes (RLIMIT_FSIZE=0)": (resource.RLIMIT_FSIZE, 0),
        "core dumps": (resource.RLIMIT_CORE, 0),
    }
    for name, (which, value) in wanted.items():
        if value == 0 and which not in (resource.RLIMIT_FSIZE, resource.RLIMIT_CORE):
            continue
        # CPU: hard one second above soft, so the kernel sends SIGXCPU (a named reason)
        # rather than SIGKILL at the limit.
        hard = value + 1 if which == resource.RLIMIT_CPU else value
        try:
            resource.setrlimit(which, (value, hard))
            protections.add(name, True, str(value))
        except (OSError, ValueError) as error:
            protections.add(name, False, str(error))
