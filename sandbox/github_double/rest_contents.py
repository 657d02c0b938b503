"""PUT /repos/{owner}/{repo}/contents/{path}: create or update a file, with GitHub's rules.

A file that exists can be replaced only by naming its blob `sha` (422 without one, 409 when it
is not the current one), so two writers cannot overwrite each other unseen. The new file is one
commit on the default branch; the answer holds the file (without its content) and the commit.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from github_double.contents import Commit, blob_sha, commit_file
from github_double.errors import ApiError, invalid_request
from github_double.shapes import timestamp
from github_double.world import node_id

if TYPE_CHECKING:
    from github_double.rest import Call

Reply = tuple[int, Any, dict[str, str]]


def put_content(call: Call) -> Reply:
    repo = call.repo("contents", "write")
    body = call.json_object()
    for name in ("message", "content"):
        if body.get(name) is None:
            raise invalid_request(f'"{name}" wasn\'t supplied.')
        if not isinstance(body[name], str):
            raise invalid_request(f"For 'properties/{name}', {body[name]!r} is not a string.")
    branch = body.get("branch")
    if branch not in (None, repo.default_branch):
        raise ApiError(404, f"Branch {branch} not found")
    try:
        data = base64.b64decode("".join(body["content"].split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid_request("content is not valid Base64") from exc
    path = call.args["path"].strip("/")
    existing = repo.files.get(path)
    sha = body.get("sha")
    if existing is not None:
        if sha is None:
            raise invalid_request('"sha" wasn\'t supplied.')
        if sha != blob_sha(existing):
            raise ApiError(409, f"{path} does not match {sha}")
    now = timestamp(call.world.clock.now())
    login = call.actor
    default = {"name": login, "email": f"{call.world.user_id(login)}+{login}@users.noreply.github.com"}
    committer = {**_person(body, "committer", default), "date": now}
    author = {**_person(body, "author", committer), "date": now}
    commit = commit_file(call.world, repo, path, data, body["message"], author)
    content = {key: value for key, value in call.shapes.content_file(repo, path, data).items()
               if key not in ("content", "encoding")}
    answer = {"content": content, "commit": _commit(call, repo.full_name, commit, committer)}
    return (201 if existing is None else 200), answer, {}


def _person(body: dict, key: str, default: dict) -> dict:
    person = body.get(key)
    if person is None:
        return {"name": default["name"], "email": default["email"]}
    if not isinstance(person, dict) or not all(isinstance(person.get(k), str) for k in ("name", "email")):
        raise invalid_request(f"For 'properties/{key}', name and email are required.")
    return {"name": person["name"], "email": person["email"]}


def _commit(call: Call, full_name: str, commit: Commit, committer: dict) -> dict:
    api, web = call.shapes.api, call.shapes.web
    return {
        "sha": commit.sha, "node_id": node_id("Commit", int(commit.sha[:8], 16)),
        "url": f"{api}/repos/{full_name}/git/commits/{commit.sha}",
        "html_url": f"{web}/{full_name}/commit/{commit.sha}",
        "author": commit.author, "committer": committer, "message": commit.message,
        "tree": {"url": f"{api}/repos/{full_name}/git/trees/{commit.tree}", "sha": commit.tree},
        "parents": [{"url": f"{api}/repos/{full_name}/git/commits/{commit.parent}",
                     "html_url": f"{web}/{full_name}/commit/{commit.parent}", "sha": commit.parent}],
        "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None,
                         "verified_at": None},
    }
