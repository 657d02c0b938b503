"""JSON bodies in the shapes GitHub's REST API sends, built from the world's plain data.

Every URL is built on the double's own base (scheme, host and port of the request), so clients
that follow `url` fields and `Link` headers stay on the double.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from github_double.world import (
    App,
    Installation,
    Issue,
    Label,
    Repository,
    TimelineEvent,
    World,
    node_id,
)

_EVENT_TYPES = {
    "labeled": "LabeledEvent",
    "unlabeled": "UnlabeledEvent",
    "closed": "ClosedEvent",
    "reopened": "ReopenedEvent",
    "renamed": "RenamedTitleEvent",
}


def timestamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def parse_timestamp(text: str) -> datetime | None:
    """The time a `timestamp` wrote, or None for any other text."""
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Shapes:
    world: World
    api: str  # e.g. http://127.0.0.1:8123
    web: str  # base of html_url links

    # -- people and apps ----------------------------------------------------------------------
    def user(self, login: str) -> dict:
        """A simple user as GitHub embeds one: an organisation's URLs are under /users/ too, and an
        App's bot ("slug[bot]") has its login escaped in them and its page under /apps/<slug>."""
        kind = self.world.user_type(login)
        uid = self.world.user_id(login)
        api = f"{self.api}/users/{quote(login, safe='')}"
        bot_of = login.removesuffix("[bot]") if kind == "Bot" and login.endswith("[bot]") else None
        web = f"{self.web}/apps/{bot_of}" if bot_of else f"{self.web}/{login}"
        return {
            "login": login, "id": uid, "node_id": node_id(kind, uid),
            "avatar_url": f"{self.web}/avatars/{uid}", "gravatar_id": "", "url": api,
            "html_url": web, "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}", "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs", "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events", "type": kind, "site_admin": False,
            "user_view_type": "public",
        }

    def app(self, app: App) -> dict:
        return {
            "id": app.id, "slug": app.slug, "client_id": app.client_id, "node_id": node_id("App", app.id),
            "owner": self.user(app.owner), "name": app.name, "description": "",
            "external_url": f"{self.web}/{app.owner}", "html_url": f"{self.web}/apps/{app.slug}",
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "permissions": {"issues": "write", "metadata": "read"}, "events": [],
            "installations_count": sum(1 for i in self.world.installations.values() if i.app_id == app.id),
        }

    def installation(self, inst: Installation) -> dict:
        app = self.world.apps[inst.app_id]
        org_path = "organizations" if inst.account_type == "Organization" else "settings"
        return {
            "id": inst.id, "client_id": app.client_id, "account": self.user(inst.account),
            "repository_selection": inst.repository_selection,
            "access_tokens_url": f"{self.api}/app/installations/{inst.id}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.web}/{org_path}/{inst.account}/settings/installations/{inst.id}",
            "app_id": inst.app_id, "app_slug": app.slug, "target_id": self.world.user_id(inst.account),
            "target_type": inst.account_type, "permissions": dict(inst.permissions), "events": ["issues"],
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "single_file_name": None, "has_multiple_single_files": False, "single_file_paths": [],
            "suspended_by": None, "suspended_at": None,
        }

    # -- repositories -------------------------------------------------------------------------
    def repository(self, repo: Repository) -> dict:
        url = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}"
        created = timestamp(repo.created_at)
        open_issues = sum(1 for i in repo.issues.values() if i.state == "open")
        templated = {
            "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
            "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}", "contributors_url": "/contributors",
            "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
            "forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
            "git_tags_url": "/git/tags{/sha}", "issue_comment_url": "/issues/comments{/number}",
            "issue_events_url": "/issues/events{/number}", "issues_url": "/issues{/number}",
            "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}", "languages_url": "/languages",
            "merges_url": "/merges", "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}", "pulls_url": "/pulls{/number}",
            "releases_url": "/releases{/id}", "stargazers_url": "/stargazers",
            "statuses_url": "/statuses/{sha}",
            "subscribers_url": "/subscribers", "subscription_url": "/subscription", "tags_url": "/tags",
            "teams_url": "/teams", "trees_url": "/git/trees{/sha}", "hooks_url": "/hooks",
        }
        host = self.web.split("://", 1)[-1]
        return {
            "id": repo.id, "node_id": node_id("Repository", repo.id), "name": repo.name,
            "full_name": repo.full_name, "owner": self.user(repo.owner), "private": repo.private,
            "visibility": "private" if repo.private else "public", "html_url": html, "description": None,
            "fork": False, "url": url, **{k: url + v for k, v in templated.items()},
            "git_url": f"git://{host}/{repo.full_name}.git", "ssh_url": f"git@{host}:{repo.full_name}.git",
            "clone_url": f"{html}.git", "svn_url": html, "mirror_url": None, "homepage": None,
            "language": None, "forks_count": 0, "forks": 0, "stargazers_count": 0, "watchers_count": 0,
            "watchers": 0, "subscribers_count": 0, "network_count": 0, "size": 0,
            "default_branch": repo.default_branch,
            "open_issues_count": open_issues, "open_issues": open_issues,
            "is_template": False, "topics": [], "has_issues": True, "has_projects": False, "has_wiki": False,
            "has_pages": False, "has_downloads": True, "has_discussions": False, "archived": False,
            "disabled": False, "license": None, "allow_forking": True, "web_commit_signoff_required": False,
            "pushed_at": created, "created_at": created, "updated_at": created,
        }

    # -- files ----------------------------------------------------------------------------------
    def content_file(self, repo: Repository, path: str, data: bytes) -> dict:
        """A file on the default branch, as `GET .../contents/{path}` sends it."""
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()  # git's id
        branch, quoted = repo.default_branch, quote(path)
        url = f"{self.api}/repos/{repo.full_name}/contents/{quoted}?ref={branch}"
        git = f"{self.api}/repos/{repo.full_name}/git/blobs/{sha}"
        html = f"{self.web}/{repo.full_name}/blob/{branch}/{quoted}"
        raw = f"{self.web}/{repo.full_name}/raw/{branch}/{quoted}"
        encoded = base64.b64encode(data).decode()
        # GitHub wraps the base64 text at 60 characters, ending every line with a newline.
        content = "".join(encoded[i:i + 60] + "\n" for i in range(0, len(encoded), 60))
        return {
            "name": path.rsplit("/", 1)[-1], "path": path, "sha": sha, "size": len(data), "url": url,
            "html_url": html, "git_url": git, "download_url": raw,
            "type": "file", "content": content, "encoding": "base64",
            "_links": {"self": url, "git": git, "html": html},
        }

    # -- labels and issues ------------------------------------------------------------------
    def label(self, repo: Repository, label: Label) -> dict:
        return {
            "id": label.id, "node_id": node_id("Label", label.id),
            "url": f"{self.api}/repos/{repo.full_name}/labels/{quote(label.name, safe='')}",
            "name": label.name, "color": label.color, "default": label.default,
            "description": label.description,
        }

    def issue_labels(self, repo: Repository, issue: Issue) -> list[dict]:
        return [self.label(repo, repo.labels[name.lower()]) for name in issue.labels]

    def issue(self, repo: Repository, issue: Issue, *, listed: bool = False) -> dict:
        """An issue as a single-issue answer sends it; in a list (`listed`) without `closed_by`."""
        url = f"{self.api}/repos/{repo.full_name}/issues/{issue.number}"
        kind = "pull" if issue.is_pull_request else "issues"
        assignees = [self.user(login) for login in issue.assignees]
        body = {
            "url": url, "repository_url": f"{self.api}/repos/{repo.full_name}",
            "labels_url": f"{url}/labels{{/name}}", "comments_url": f"{url}/comments",
            "events_url": f"{url}/events", "timeline_url": f"{url}/timeline",
            "html_url": f"{self.web}/{repo.full_name}/{kind}/{issue.number}",
            "id": issue.id, "node_id": node_id("PullRequest" if issue.is_pull_request else "Issue", issue.id),
            "number": issue.number, "title": issue.title, "user": self.user(issue.user),
            "labels": self.issue_labels(repo, issue), "state": issue.state,
            "state_reason": issue.state_reason,
            "locked": False, "active_lock_reason": None, "assignee": assignees[0] if assignees else None,
            "assignees": assignees, "milestone": None, "comments": 0,
            "created_at": timestamp(issue.created_at), "updated_at": timestamp(issue.updated_at),
            "closed_at": timestamp(issue.closed_at),
            "author_association": self.world.association(repo, issue.user), "type": None,
            "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
            "body": issue.body, "closed_by": self._closed_by(issue),
            "reactions": self._reactions(url), "performed_via_github_app": None,
        }
        if listed:
            del body["closed_by"]
        if issue.is_pull_request:
            pulls = f"{self.api}/repos/{repo.full_name}/pulls/{issue.number}"
            web = f"{self.web}/{repo.full_name}/pull/{issue.number}"
            body["draft"] = False
            body["pull_request"] = {"url": pulls, "html_url": web, "diff_url": f"{web}.diff",
                                    "patch_url": f"{web}.patch", "merged_at": None}
        return body

    def _closed_by(self, issue: Issue) -> dict | None:
        if issue.state != "closed":
            return None
        closer = next((e.actor for e in reversed(issue.timeline) if e.event == "closed"), None)
        return self.user(closer) if closer else None

    @staticmethod
    def _reactions(issue_url: str) -> dict:
        counts = dict.fromkeys(("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0)
        return {"url": f"{issue_url}/reactions", "total_count": 0, **counts}

    def event(self, repo: Repository, event: TimelineEvent) -> dict:
        body: dict = {
            "id": event.id, "node_id": node_id(_EVENT_TYPES.get(event.event, "IssueEvent"), event.id),
            "url": f"{self.api}/repos/{repo.full_name}/issues/events/{event.id}",
            "actor": self.user(event.actor), "event": event.event, "commit_id": None, "commit_url": None,
            "created_at": timestamp(event.created_at), "performed_via_github_app": None,
        }
        if event.label is not None:
            label = repo.labels.get(event.label.lower())
            body["label"] = {"name": event.label, "color": label.color if label else "ededed"}
        if event.event == "closed":
            body["state_reason"] = event.state_reason
        if event.event == "renamed":
            body["rename"] = {"from": event.rename_from, "to": event.rename_to}
        return body
