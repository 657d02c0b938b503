"""GraphQL's Blob: a file read through `Repository.object(expression:)`."""

from __future__ import annotations

import base64

from github_double.contents import blob_sha, file_at, head_sha, is_binary
from github_double.graphql_objects import RepositoryObject


class BlobObject:
    typename = "Blob"

    def __init__(self, repository: RepositoryObject, path: str, data: bytes) -> None:
        self.repository = repository
        self.path = path
        self.data = data

    oid = property(lambda self: blob_sha(self.data))
    abbreviatedOid = property(lambda self: self.oid[:7])
    id = property(
        lambda self: base64.b64encode(f"04:Blob{self.repository.repo.id}:{self.oid}".encode()).decode())
    byteSize = property(lambda self: len(self.data))
    isBinary = property(lambda self: is_binary(self.data))
    isTruncated = False
    text = property(lambda self: None if self.isBinary else self.data.decode("utf-8"))
    commitResourcePath = property(
        lambda self: f"/{self.repository.repo.full_name}/commit/{head_sha(self.repository.repo)}")
    commitUrl = property(lambda self: f"{self.repository.caller.web}{self.commitResourcePath}")


def object_at(repository: RepositoryObject, expression: str) -> BlobObject | None:
    """Repository.object: the file's blob, or null when the expression names no file (the double
    serves blobs only: a tree or a commit is null too). Reading needs the `contents` permission."""
    repository.caller.require("read", "contents")
    found = file_at(repository.repo, expression)
    return BlobObject(repository, *found) if found else None
