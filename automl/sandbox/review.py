"""What a job leaves behind is reviewed for secrets before the run keeps it.

A run directory is meant to be shared, and a job's folder (its saved files, its ``trial.log``)
goes into it. Where Landlock confines reads, a child cannot open the user's credential files or
the runner's environment at all; this review is the layer behind that, and the only one on a
kernel without Landlock. After every job the parent looks for two kinds of secret in the job's
log and files: the values of its own secret-named environment variables (the definition the model
client redacts by, :mod:`automl.sandbox.secrets`) and tokens of the user's well-known credential
files (SSH keys, cloud and package-index credentials), read here, in the parent. A text file that
holds one is redacted in place, any other file is removed, and the job becomes a crash whose
message names where the secret came from and where it was found, never the secret itself.

With Landlock's read rights only files up to :data:`CONFINED_SCAN_BYTES` are read (logs, text a
train() wrote): a model file cannot hold what the child could not read. Without them every file
up to :data:`UNCONFINED_SCAN_BYTES` is.
"""

from __future__ import annotations

import functools
import os
import pwd
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from automl.sandbox.secrets import redact, secret_values

# Credential files of the user, relative to the home directory (globs allowed).
CREDENTIAL_FILES = (
    ".ssh/id_*",
    ".aws/credentials",
    ".netrc",
    ".git-credentials",
    ".docker/config.json",
    ".pypirc",
    ".npmrc",
    ".kube/config",
    ".config/gh/hosts.yml",
    ".config/*/credentials",
    ".config/*/credentials.json",
)
# A token worth looking for: 16 or more key characters, with a digit and a letter (not a plain word
# such as aws_secret_access_key); the first few of a file are enough to catch a copy of it.
TOKEN = re.compile(rb"[A-Za-z0-9+/=_\-.]{16,}")
TOKENS_PER_FILE = 8
CONFINED_SCAN_BYTES = 1 << 20
UNCONFINED_SCAN_BYTES = 256 << 20


@dataclass(frozen=True)
class Secret:
    """A value that must not leave a job, and where it comes from (said instead of the value)."""

    value: bytes
    origin: str


@functools.cache
def credential_secrets(home: str | None = None) -> tuple[Secret, ...]:
    """Tokens of the user's credential files that exist on this machine (read once per process)."""
    root = Path(home or pwd.getpwuid(os.getuid()).pw_dir)
    found = []
    for pattern in CREDENTIAL_FILES:
        for path in sorted(root.glob(pattern)):
            if path.suffix == ".pub" or not path.is_file():
                continue
            try:
                content = path.read_bytes()[: 1 << 20]
            except OSError:
                continue
            tokens = [t for t in TOKEN.findall(content) if re.search(rb"\d", t) and re.search(rb"[A-Za-z]", t)]
            origin = f"~/{path.relative_to(root)}"
            found += [Secret(token, origin) for token in dict.fromkeys(tokens[:TOKENS_PER_FILE])]
    return tuple(found)


def known_secrets() -> list[Secret]:
    """This process's secret environment values, then the credential files' tokens."""
    environment = [Secret(value.encode(), "a secret environment variable of the runner") for value in secret_values()]
    return environment + list(credential_secrets())


def review_job_output(work_dir: Path, log_path: Path, reads_confined: bool) -> list[str]:
    """Redact or remove every kept file of a job that holds a secret; one finding per file, naming origins."""
    secrets = known_secrets()
    if not secrets:
        return []
    limit = CONFINED_SCAN_BYTES if reads_confined else UNCONFINED_SCAN_BYTES
    findings = []
    for path in _kept_files(work_dir, log_path):
        try:
            if path.stat().st_size > limit:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        hits = [secret for secret in secrets if secret.value in data]
        if not hits:
            continue
        try:
            path.write_text(redact_secrets(data.decode("utf-8")), encoding="utf-8")
            action = "redacted"
        except UnicodeDecodeError:
            path.unlink()
            action = "removed"
        origins = ", ".join(dict.fromkeys(secret.origin for secret in hits))
        findings.append(f"{origins} in {path.name} ({action})")
    return findings


def redact_secrets(text: str) -> str:
    """``text`` with the runner's secret environment values and the credential files' tokens replaced."""
    return redact(text, extra=[secret.value.decode("utf-8", errors="replace") for secret in credential_secrets()])


def _kept_files(work_dir: Path, log_path: Path) -> Iterator[Path]:
    """The job's log, then every file beneath its folder."""
    if log_path.is_file():
        yield log_path
    for path in sorted(work_dir.rglob("*")):
        if path.is_file() and not path.is_symlink() and path != log_path:
            yield path
