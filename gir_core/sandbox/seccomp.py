"""A tiny seccomp filter: threads yes; new processes, exec, Unix sockets and io_uring no.

RLIMIT_NPROC only caps processes when the child runs under its own uid, which is impossible when
the Python runtime lives in root's home; a seccomp filter works for any uid. ``clone`` is allowed
only with CLONE_THREAD, ``clone3`` answers ENOSYS (glibc then falls back to ``clone``), and
``fork``, ``vfork``, ``execve`` and ``execveat`` fail with EPERM. Threads stay bounded by the
memory limit (each needs a stack).

Unix-domain sockets reach across network namespaces (PostgreSQL's socket, a Docker socket) and
Landlock cannot yet restrict connecting to a socket file, so ``socket`` and ``socketpair`` with
AF_UNIX fail with EPERM: no AF_UNIX socket can exist in the child, so none can ``connect`` or
``sendto`` a path. ``io_uring_setup/enter/register`` fail with EPERM: io_uring performs I/O
outside the syscalls this filter (and audit) sees.
"""

from __future__ import annotations

import ctypes
import errno
import platform

_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_AND_K = 0x54
_RET_K = 0x06
_ALLOW = 0x7FFF0000
_KILL_PROCESS = 0x80000000
_ERRNO = 0x00050000
_CLONE_THREAD = 0x00010000
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_MODE_FILTER = 2

_AF_UNIX = 1
_IO_URING = {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427}
DENIED = ("fork", "vfork", "execve", "execveat", *_IO_URING)

# arch token, x32 bit, and syscall numbers per machine (io_uring's are the same on both).
_ARCHES = {
    "x86_64": (
        0xC000003E,
        0x40000000,
        {"fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "clone": 56, "clone3": 435,
         "socket": 41, "socketpair": 53, **_IO_URING},
    ),
    "aarch64": (
        0xC00000B7,
        0,
        {"execve": 221, "execveat": 281, "clone": 220, "clone3": 435,
         "socket": 198, "socketpair": 199, **_IO_URING},
    ),
}  # fmt: skip


class _Filter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _Program(ctypes.Structure):
    _fields_ = (("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Filter)))


def _program(arch: int, x32: int, numbers: dict[str, int]) -> list[tuple[int, int, int, int]]:
    deny = _ERRNO | errno.EPERM
    code: list[tuple[int, int, int, int]] = [
        (_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ_K, 1, 0, arch),
        (_RET_K, 0, 0, _KILL_PROCESS),
        (_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if x32:
        code += [(_JGE_K, 0, 1, x32), (_RET_K, 0, 0, _KILL_PROCESS)]
    for name in DENIED:
        if name in numbers:
            code += [(_JEQ_K, 0, 1, numbers[name]), (_RET_K, 0, 0, deny)]
    code += [(_JEQ_K, 0, 1, numbers["clone3"]), (_RET_K, 0, 0, _ERRNO | errno.ENOSYS)]
    for name in ("socket", "socketpair"):
        code += [
            (_JEQ_K, 0, 4, numbers[name]),
            (_LD_W_ABS, 0, 0, 16),  # low word of args[0]: the address family
            (_JEQ_K, 0, 1, _AF_UNIX),
            (_RET_K, 0, 0, deny),
            (_RET_K, 0, 0, _ALLOW),
        ]
    code += [
        (_JEQ_K, 0, 4, numbers["clone"]),
        (_LD_W_ABS, 0, 0, 16),  # low word of args[0]: the clone flags
        (_AND_K, 0, 0, _CLONE_THREAD),
        (_JEQ_K, 1, 0, _CLONE_THREAD),
        (_RET_K, 0, 0, deny),
        (_RET_K, 0, 0, _ALLOW),
    ]
    return code


def install() -> None:
    """Install the filter on this process (irreversible). Raises OSError when unsupported."""
    machine = platform.machine()
    if machine not in _ARCHES:
        raise OSError(f"no seccomp filter for the {machine} architecture")
    rows = _program(*_ARCHES[machine])
    filters = (_Filter * len(rows))(*(_Filter(*row) for row in rows))
    program = _Program(len(rows), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")
    if libc.prctl(_PR_SET_SECCOMP, _MODE_FILTER, ctypes.byref(program), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(SECCOMP_MODE_FILTER) failed")
