"""The demo world: one App installed on an `ohdsi-demo` organisation with a Factory and a study.

DemoStudy has a closed base-camp issue, an open protocol-development issue and an unlabelled pull
request (GitHub lists pull requests among issues); the Factory has the stage labels and
`study-tracking` but no tracking issue yet, so a first sync has one to create. The organisation
has a project, "Factory portfolio" (number 1), with only the fields GitHub gives a new project.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from github_double.projects import add_project
from github_double.world import Clock, Repository, World, utc

DEMO_OWNER = "ohdsi-demo"
FACTORY_REPO = f"{DEMO_OWNER}/Factory"
STUDY_REPO = f"{DEMO_OWNER}/DemoStudy"
DEMO_APP_ID = 1
DEMO_INSTALLATION_ID = 100
# contents: write lets a test commit a Factory config file as its admin would (the product reads it);
# organization_projects: write is the Factory board's.
DEMO_PERMISSIONS = {"issues": "write", "metadata": "read", "contents": "write",
                    "organization_projects": "write"}
PORTFOLIO_PROJECT = "Factory portfolio"  # the organisation's project number 1, with GitHub's default fields
TRACKING_LABEL = "study-tracking"

# The default catalog's stages, in order, with the colours and descriptions the demo repos carry.
STAGE_LABELS = [
    ("stage:base-camp", "c5def5", "Getting the study team and repository set up"),
    ("stage:protocol-development", "bfd4f2", "Writing and reviewing the study protocol"),
    ("stage:phenotype-development", "d4c5f9", "Defining and evaluating the cohorts"),
    ("stage:analysis-specifications", "fef2c0", "Specifying the analyses to run"),
    ("stage:network-execution", "fbca04", "Running the study across the network"),
    ("stage:results-evaluation", "0e8a16", "Reviewing and publishing the results"),
]


def generate_private_key() -> str:
    """A fresh 2048-bit RSA key in PEM, as GitHub hands out for an App. Slow: make one per session."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def public_key_of(private_key_pem: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def factory_and_study(world: World, owner: str, factory_repo: str, study_repo: str,
                      private_key: str) -> tuple[Repository, Repository]:
    """The demo App installed on the organisation `owner`, with a Factory (stage labels and the
    tracking label, no tracking issue yet) and one study repository with the stage labels."""
    world.users.update({owner: "Organization", "demo-lead": "User", "demo-analyst": "User"})
    world.add_app(DEMO_APP_ID, public_key_of(private_key), owner=owner)
    for full_name in (factory_repo, study_repo):
        repo = world.add_repo(full_name, private=True)
        for name, color, description in STAGE_LABELS:
            world.ensure_label(repo, name, color, description)
    factory, study = world.repo(factory_repo), world.repo(study_repo)
    world.ensure_label(factory, TRACKING_LABEL, "5319e7", "Tracks one study's progress through the stages")
    world.add_installation(DEMO_APP_ID, owner, [factory_repo, study_repo], DEMO_PERMISSIONS,
                           installation_id=DEMO_INSTALLATION_ID)
    return factory, study


def build_demo_world(clock: Clock | None = None, private_key: str | None = None) -> tuple[World, str]:
    """The demo world and the App's PEM private key (the given one, or a new one)."""
    pem = private_key or generate_private_key()
    world = World(clock)
    _, study = factory_and_study(world, DEMO_OWNER, FACTORY_REPO, STUDY_REPO, pem)
    add_project(world, DEMO_OWNER, PORTFOLIO_PROJECT, number=1, creator="demo-lead")
    world.import_issue(study, "Draft the study protocol", "Write the first full draft of the protocol.",
                       "demo-lead", created_at=utc(2025, 3, 3, 9), labels=["stage:base-camp"],
                       assignees=["demo-lead"], closed_at=utc(2025, 3, 21, 16))
    world.import_issue(study, "Review the protocol with the study team",
                       "Collect comments from every site and settle the open questions.", "demo-lead",
                       created_at=utc(2025, 3, 24, 10), labels=["stage:protocol-development"],
                       assignees=["demo-analyst"])
    world.import_issue(study, "Add the protocol document", "Adds `Protocol.md`.", "demo-analyst",
                       created_at=utc(2025, 3, 25, 14), is_pull_request=True)
    return world, pem
