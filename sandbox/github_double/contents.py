"""Files on a repository's default branch: git's blob ids, commits made through the contents API,
and GraphQL's Blob (`Repository.object(expression: "HEAD:path")`).

The double keeps one branch and no history beyond the last commit's id: enough for GitHub's
rules on writing a file (the blob `sha` a change must name) and for reading files back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from github_double.world import Repository, World

BINARY_PROBE = 8000  # git calls a file binary when its first 8,000 bytes hold a NUL


def blob_sha(data: bytes) -> str:
    """git's object id of a blob with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def head_sha(repo: Repository) -> str:
    """The default branch's last commit: one made through the API, or a stand-in for the first."""
    first = hashlib.sha1(f"commit:{repo.full_name}".encode(), usedforsecurity=False).hexdigest()
    return repo.head_sha or first


@dataclass(frozen=True)
class Commit:
    sha: str
    parent: str
    tree: str
    message: str
    author: dict  # name, email, date


def commit_file(world: World, repo: Repository, path: str, data: bytes, message: str, author: dict) -> Commit:
    """Write one file on the default branch as a new commit on top of the last one."""
    parent = head_sha(repo)
    repo.files[path] = data
    listing = "".join(f"{name}\0{blob_sha(repo.files[name])}\n" for name in sorted(repo.files))
    tree = hashlib.sha1(f"tree\0{listing}".encode(), usedforsecurity=False).hexdigest()
    who = f"{author['name']} <{author['email']}> {author['date']}"
    text = f"tree {tree}\nparent {parent}\nauthor {who}\n\n{message}"
    sha = hashlib.sha1(f"commit\0{text}".encode(), usedforsecurity=False).hexdigest()
    repo.head_sha = sha
    return Commit(sha, parent, tree, message, author)


def is_binary(data: bytes) -> bool:
    if b"\0" in data[:BINARY_PROBE]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def file_at(repo: Repository, expression: str) -> tuple[str, bytes] | None:
    """The file an expression such as "HEAD:path" or "main:path" names on the default branch."""
    ref, colon, path = expression.partition(":")
    branch = repo.default_branch
    if not colon or ref not in ("HEAD", branch, f"refs/heads/{branch}", head_sha(repo)):
        return None
    path = path.strip("/")
    data = repo.files.get(path)
    return (path, data) if data is not None else None
