"""Kernel-level confinement a sandbox child applies to itself before it imports generated code.

Linux mechanisms, unprivileged and inherited by everything the child does:

* capabilities: all dropped, so even a child running as root cannot override file permissions or
  read other processes' memory and environment (the runner marks itself non-dumpable for that).
* seccomp: a syscall filter that refuses to start programs (execve), to create processes (fork,
  clone without CLONE_THREAD), to create sockets (only connected AF_UNIX pairs), to signal other
  processes, and a list of administrative calls (mount, ptrace, bpf, io_uring, capset, ...).
* Landlock: writes only beneath the trial's ``model_dir`` and scratch directory; with a recent
  kernel also no TCP connect or bind, and no signals to processes outside the sandbox.

Each returns what it applied so a run can say which protections it had.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import stat
import struct
from collections.abc import Iterable

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
CLONE_THREAD = 0x00010000
AF_UNIX = 1

# Syscall numbers per architecture: (audit arch, table).
_X86_64 = {
    "execve": 59, "execveat": 322, "fork": 57, "vfork": 58, "clone": 56, "clone3": 435, "socket": 41,
    "socketpair": 53, "kill": 62, "tkill": 200, "tgkill": 234, "ptrace": 101, "mount": 165, "umount2": 166,
    "pivot_root": 155, "chroot": 161, "setns": 308, "unshare": 272, "process_vm_readv": 310,
    "process_vm_writev": 311, "kexec_load": 246, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "reboot": 169, "swapon": 167, "swapoff": 168, "bpf": 321, "perf_event_open": 298, "keyctl": 250,
    "add_key": 248, "request_key": 249, "io_uring_setup": 425, "userfaultfd": 323, "pidfd_send_signal": 424,
}  # fmt: skip
_AARCH64 = {
    "execve": 221, "execveat": 281, "clone": 220, "clone3": 435, "socket": 198, "socketpair": 199, "kill": 129,
    "tkill": 130, "tgkill": 131, "ptrace": 117, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
    "setns": 268, "unshare": 97, "process_vm_readv": 270, "process_vm_writev": 271, "kexec_load": 104,
    "init_module": 105, "finit_module": 273, "delete_module": 106, "reboot": 142, "swapon": 224, "swapoff": 225,
    "bpf": 280, "perf_event_open": 241, "keyctl": 219, "add_key": 217, "request_key": 218, "io_uring_setup": 425,
    "userfaultfd": 282, "pidfd_send_signal": 424,
}  # fmt: skip
_ARCHES = {"x86_64": (0xC000003E, _X86_64), "aarch64": (0xC00000B7, _AARCH64)}
_DENIED = ("execve", "execveat", "fork", "vfork", "ptrace", "mount", "umount2", "pivot_root", "chroot", "setns",
           "unshare", "process_vm_readv", "process_vm_writev", "kexec_load", "init_module", "finit_module",
           "delete_module", "reboot", "swapon", "swapoff", "bpf", "perf_event_open", "keyctl", "add_key",
           "request_key", "io_uring_setup", "userfaultfd", "tkill", "pidfd_send_signal", "socket")  # fmt: skip

# Classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
# x32 system calls on x86_64 carry this bit and would bypass the table.
_X32_SYSCALL_BIT = 0x40000000
_ALLOW = 0x7FFF0000
_KILL = 0x80000000
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0 = 0, 4, 16


def _errno(code: int) -> int:
    return 0x00050000 | code


def _filter(arch: int, table: dict[str, int], own_pid: int) -> list[tuple[int, int, int, int]]:
    """The BPF program: allow by default, refuse the listed calls and check a few arguments."""
    program: list[tuple[int, int, int, int]] = [
        (_LD_W_ABS, 0, 0, _OFFSET_ARCH),
        (_JEQ, 1, 0, arch),
        (_RET, 0, 0, _KILL),  # a foreign-architecture syscall could bypass the table
        (_LD_W_ABS, 0, 0, _OFFSET_NR),
        (_JGE, 0, 1, _X32_SYSCALL_BIT),
        (_RET, 0, 0, _errno(errno.ENOSYS)),
    ]

    def deny(name: str, code: int = errno.EPERM) -> None:
        if name in table:
            program.extend([(_JEQ, 0, 1, table[name]), (_RET, 0, 0, _errno(code))])

    def allow_if_arg0(name: str, allowed: Iterable[int]) -> None:
        """For syscall ``name``: allow when the low word of arg 0 is in ``allowed``, refuse otherwise."""
        if name not in table:
            return
        values = [value & 0xFFFFFFFF for value in allowed]
        # jump over this block (load + compares + deny + reload) when the syscall is another one
        program.append((_JEQ, 0, len(values) + 3, table[name]))
        program.append((_LD_W_ABS, 0, 0, _OFFSET_ARG0))
        for index, value in enumerate(values):
            program.append((_JEQ, len(values) - index, 0, value))
        program.append((_RET, 0, 0, _errno(errno.EPERM)))
        program.append((_LD_W_ABS, 0, 0, _OFFSET_NR))

    for name in _DENIED:
        deny(name)
    deny("clone3", errno.ENOSYS)  # glibc then falls back to clone, whose flags we can inspect
    if "clone" in table:  # threads (CLONE_THREAD) yes, new processes no
        program.extend([
            (_JEQ, 0, 4, table["clone"]),
            (_LD_W_ABS, 0, 0, _OFFSET_ARG0),
            (_JSET, 1, 0, CLONE_THREAD),
            (_RET, 0, 0, _errno(errno.EPERM)),
            (_LD_W_ABS, 0, 0, _OFFSET_NR),
        ])  # fmt: skip
    allow_if_arg0("socketpair", [AF_UNIX])  # connected pairs only: socket() itself is refused above
    allow_if_arg0("kill", [own_pid, 0, -own_pid])
    allow_if_arg0("tgkill", [own_pid])
    program.append((_RET, 0, 0, _ALLOW))
    return program


PR_SET_DUMPABLE = 4
_CAPSET = {"x86_64": 126, "aarch64": 91}
_CAP_VERSION_3 = 0x20080522


def protect_from_children() -> None:
    """Make this (the runner's) process non-dumpable: without capabilities, sandbox children then
    cannot read its /proc entries, such as the environment holding API keys."""
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def drop_capabilities() -> str:
    """Give up every capability (effective, permitted, inheritable); returns a label, '' if unsupported."""
    number = _CAPSET.get(platform.machine())
    if number is None:
        return ""
    header = ctypes.create_string_buffer(struct.pack("Ii", _CAP_VERSION_3, 0), 8)
    data = ctypes.create_string_buffer(bytes(24), 24)  # two empty {effective, permitted, inheritable}
    if _libc.syscall(number, header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    return "no-capabilities"


def _no_new_privileges() -> None:
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")


def seccomp_supported() -> bool:
    """Whether this architecture has a syscall table here."""
    return platform.machine() in _ARCHES


def apply_seccomp() -> str:
    """Install the syscall filter; returns a label, or '' where the architecture is unknown."""
    arch_info = _ARCHES.get(platform.machine())
    if arch_info is None:
        return ""
    program = _filter(arch_info[0], arch_info[1], os.getpid())
    raw = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("HxxxxxxP", len(program), ctypes.addressof(buffer))
    fprog_buffer = ctypes.create_string_buffer(fprog, len(fprog))
    _no_new_privileges()
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog_buffer), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
    return "seccomp"


# Landlock (linux/landlock.h): syscalls, access rights by ABI version, rule type.
_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 1, 1 << 2, 1 << 3
_FS_WRITE_RIGHTS_V1 = sum(1 << bit for bit in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))  # write, remove, make_*
_FS_REFER, _FS_TRUNCATE = 1 << 13, 1 << 14
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1
_FILE_RIGHTS = _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE  # the rights that apply to a single file


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when it has none."""
    version = _libc.syscall(_LANDLOCK_CREATE_RULESET, None, 0, _LANDLOCK_CREATE_RULESET_VERSION)
    return max(int(version), 0)


def apply_landlock(writable: Iterable[str], readable: Iterable[str] | None = None) -> str:
    """Allow writes only beneath ``writable`` (and to /dev/null) and, given ``readable``, reads only beneath
    it and ``writable``; returns a label, '' if unsupported. A path that does not exist is skipped."""
    abi = landlock_abi()
    if abi < 1:
        return ""
    read_rights = _FS_READ_FILE | _FS_READ_DIR if readable is not None else 0
    fs_rights = _FS_WRITE_RIGHTS_V1 | read_rights | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    net_rights = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("QQQ", fs_rights, net_rights, scoped)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    attr_buffer = ctypes.create_string_buffer(attr[:size], size)
    ruleset = _libc.syscall(_LANDLOCK_CREATE_RULESET, attr_buffer, size, 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        rules = [(path, fs_rights) for path in [*writable, "/dev/null"]]
        rules += [(path, read_rights) for path in readable or ()]
        for path, rights in rules:
            _add_rule(ruleset, path, rights)
        _no_new_privileges()
        if _libc.syscall(_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    extras = (["reads"] if read_rights else []) + (["no-tcp"] if net_rights else []) + \
        (["signal-scope"] if scoped else [])  # fmt: skip
    return "landlock" + (f"({','.join(extras)})" if extras else "")


def _add_rule(ruleset: int, path: str, rights: int) -> None:
    """Grant ``rights`` beneath ``path`` (only the single-file ones for a file); a missing path is skipped."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
        if _libc.syscall(_LANDLOCK_ADD_RULE, ruleset, _RULE_PATH_BENEATH, rule, 0) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)
