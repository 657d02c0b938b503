"""The double authenticates like GitHub: App JWTs, installation and workflow tokens, their scopes."""

from __future__ import annotations

import pytest
import requests
from github import Auth, BadCredentialsException, GithubException, GithubIntegration, UnknownObjectException

from github_double.demo_world import DEMO_INSTALLATION_ID, DEMO_PERMISSIONS, generate_private_key

FACTORY = "ohdsi-demo/Factory"
STUDY = "ohdsi-demo/DemoStudy"


def _integration(github, key=None) -> GithubIntegration:
    return GithubIntegration(auth=Auth.AppAuth(github.app_id, key or github.private_key), base_url=github.url,
                             seconds_between_requests=None, seconds_between_writes=None, retry=None)


def _get(github, path: str, token: str | None = None, scheme: str = "token") -> requests.Response:
    headers = {"Authorization": f"{scheme} {token}"} if token else {}
    return requests.get(f"{github.url}{path}", headers=headers, timeout=10)


def test_pygithub_finds_the_installation_and_mints_a_token_that_reads(github, client):
    integration = _integration(github)
    installation = integration.get_repo_installation("ohdsi-demo", "DemoStudy")
    assert installation.id == DEMO_INSTALLATION_ID
    assert integration.get_org_installation("ohdsi-demo").id == DEMO_INSTALLATION_ID
    token = integration.get_access_token(installation.id)
    assert token.token.startswith("ghs_") and len(token.token) == 40
    assert token.permissions == DEMO_PERMISSIONS, "not narrowed: everything the installation grants"

    repo = client(token.token).get_repo(STUDY)
    assert repo.full_name == STUDY
    assert github.log.last().principal == f"installation:{DEMO_INSTALLATION_ID}"
    assert github.log.select(path_prefix="/app/installations")[0].principal == "jwt:1"


def test_app_endpoint_describes_the_app(github):
    app = _integration(github).get_app()
    assert (app.id, app.slug) == (1, "factory-sync")


def test_tokens_are_random_and_logged_by_short_id_only(github, mint_token):
    first, second = mint_token(), mint_token()
    assert first != second
    _get(github, f"/repos/{STUDY}", first)
    entry = github.log.last()
    assert entry.token_id and entry.token_id != first and first not in repr(entry)
    assert entry.token_permissions == DEMO_PERMISSIONS


def test_a_token_narrowed_to_one_repository_cannot_see_another(github, mint_token, client):
    token = mint_token(repositories=["DemoStudy"])
    gh = client(token)
    assert gh.get_repo(STUDY).name == "DemoStudy"
    with pytest.raises(UnknownObjectException):
        gh.get_repo(FACTORY).create_issue("Track DemoStudy")
    assert github.log.last().status == 404
    assert github.log.last().token_repositories == [STUDY]
    assert not github.world.repo(FACTORY).issues


def test_narrowing_by_repository_id_lists_only_that_repository(github, app_jwt):
    study_id = github.world.repo(STUDY).id
    reply = requests.post(f"{github.url}/app/installations/{DEMO_INSTALLATION_ID}/access_tokens",
                          json={"repository_ids": [study_id]},
                          headers={"Authorization": f"Bearer {app_jwt()}"}, timeout=10)
    assert reply.status_code == 201
    assert reply.json()["repository_selection"] == "selected"
    assert [r["full_name"] for r in reply.json()["repositories"]] == [STUDY]
    listing = _get(github, "/installation/repositories", reply.json()["token"]).json()
    assert listing["total_count"] == 1 and listing["repositories"][0]["id"] == study_id


def test_read_only_token_cannot_edit_an_issue(github, mint_token, client):
    issue = client(mint_token(permissions={"issues": "read"})).get_repo(STUDY).get_issue(2)
    with pytest.raises(GithubException) as refused:
        issue.edit(state="closed")
    assert refused.value.status == 403
    assert refused.value.data["message"] == "Resource not accessible by integration"
    assert github.world.repo(STUDY).issues[2].state == "open"


NOT_GRANTED = "The permissions requested are not granted to this installation."


@pytest.mark.parametrize(("body", "message"), [
    ({"permissions": {"administration": "write"}}, NOT_GRANTED),
    ({"permissions": {"issues": "admin"}}, NOT_GRANTED),
    ({"repositories": ["Elsewhere"]}, "There is at least one repository that does not exist or is not "
                                      "accessible to the parent installation."),
])
def test_asking_for_more_than_the_installation_grants_is_refused(github, app_jwt, body, message):
    reply = requests.post(f"{github.url}/app/installations/{DEMO_INSTALLATION_ID}/access_tokens", json=body,
                          headers={"Authorization": f"Bearer {app_jwt()}"}, timeout=10)
    assert reply.status_code == 422
    assert reply.json()["message"] == message


def test_a_token_expires_after_an_hour_on_the_worlds_clock(github, mint_token):
    token = mint_token()
    github.world.clock.advance(59 * 60)
    assert _get(github, f"/repos/{STUDY}", token).status_code == 200
    github.world.clock.advance(60)
    reply = _get(github, f"/repos/{STUDY}", token)
    assert reply.status_code == 401
    assert reply.json()["message"] == "Bad credentials"


def test_a_revoked_token_is_refused(github, mint_token):
    token = mint_token()
    revoked = requests.delete(f"{github.url}/installation/token", headers={"Authorization": f"token {token}"},
                              timeout=10)
    assert revoked.status_code == 204 and revoked.content == b""
    assert _get(github, f"/repos/{STUDY}", token, scheme="Bearer").status_code == 401


def test_unknown_token_gets_bad_credentials(github):
    reply = _get(github, f"/repos/{STUDY}", "ghs_" + "x" * 36)
    assert reply.status_code == 401
    assert reply.json() == {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                            "status": "401"}
    assert github.log.last().principal == "invalid"


def test_a_jwt_signed_with_another_key_is_refused(github):
    with pytest.raises(GithubException) as refused:
        _integration(github, key=generate_private_key()).get_repo_installation("ohdsi-demo", "DemoStudy")
    assert refused.value.status == 401
    assert refused.value.data["message"] == "A JSON web token could not be decoded"


@pytest.mark.parametrize(("claims", "message"), [
    ({"exp_ahead": 660}, "'Expiration time' claim ('exp') is too far in the future"),
    ({"exp_ahead": -1}, "'Expiration time' claim ('exp') must be a numeric value representing the future "
                        "time at which the assertion expires"),
    ({"iat_ahead": 120}, "'Issued at' claim ('iat') must be an Integer representing the time that the "
                         "assertion was issued"),
])
def test_jwt_times_follow_githubs_rules(github, app_jwt, claims, message):
    now = int(github.world.clock.now().timestamp())
    jwt_claims = {}
    if "exp_ahead" in claims:
        jwt_claims["exp"] = now + claims["exp_ahead"]
    if "iat_ahead" in claims:
        jwt_claims["iat"] = now + claims["iat_ahead"]
    reply = _get(github, "/app", app_jwt(**jwt_claims), scheme="Bearer")
    assert reply.status_code == 401
    assert reply.json()["message"] == message


def test_jwt_tolerates_a_minute_of_clock_drift_and_takes_the_client_id_as_issuer(github, app_jwt):
    now = int(github.world.clock.now().timestamp())
    drifted = app_jwt(iat=now + 30, exp=now + 300, iss=github.world.apps[1].client_id)
    assert _get(github, "/app", drifted, scheme="Bearer").status_code == 200
    assert _get(github, "/app", app_jwt(iss=1), scheme="Bearer").status_code == 200


def test_a_jwt_expires_when_the_clock_moves_on(github, app_jwt):
    signed = app_jwt()
    github.world.clock.advance(600)
    assert _get(github, "/app", signed, scheme="Bearer").status_code == 401


def test_jwt_only_reaches_app_endpoints_and_tokens_do_not_reach_them(github, app_jwt, mint_token):
    assert _get(github, f"/repos/{STUDY}/issues", app_jwt(), scheme="Bearer").status_code == 403
    refused = _get(github, f"/repos/{STUDY}/installation", mint_token())
    assert refused.status_code == 401
    assert refused.json()["message"] == "A JSON web token could not be decoded"


def test_workflow_token_is_scoped_to_its_repository(github, client):
    token = github.world.mint_workflow_token(FACTORY, {"issues": "write"})
    gh = client(token)
    created = gh.get_repo(FACTORY).create_issue("Track DemoStudy")
    assert created.user.login == "github-actions[bot]"
    assert github.log.last().principal == "workflow"
    assert _get(github, f"/repos/{STUDY}", token).status_code == 404
    assert _get(github, "/rate_limit", token).json()["rate"]["limit"] == 1000


def test_private_repositories_are_hidden_from_anonymous_callers(github):
    assert _get(github, f"/repos/{STUDY}").status_code == 404
    assert github.log.last().principal == "anonymous"


def test_anonymous_callers_read_public_repositories_on_a_small_budget(github):
    github.world.add_repo("ohdsi-demo/Public", labels=["stage:base-camp"])
    reply = _get(github, "/repos/ohdsi-demo/Public/labels")
    assert reply.status_code == 200
    assert reply.headers["x-ratelimit-limit"] == "60"
    write = requests.post(f"{github.url}/repos/ohdsi-demo/Public/issues", json={"title": "x"}, timeout=10)
    assert write.status_code == 401


def test_installation_token_with_pygithub_app_installation_auth(github):
    from github import Github

    auth = Auth.AppAuth(github.app_id, github.private_key).get_installation_auth(DEMO_INSTALLATION_ID)
    gh = Github(auth=auth, base_url=github.url, seconds_between_requests=None, seconds_between_writes=None,
                retry=None)
    assert gh.get_repo(FACTORY).get_label("study-tracking").name == "study-tracking"
    with pytest.raises(BadCredentialsException):
        Github(auth=Auth.Token("ghs_nope"), base_url=github.url, retry=None).get_repo(FACTORY)
