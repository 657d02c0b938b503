"""The single-study engine: check a study against its Factory tracking issue.

Plan the tracking issue from the study's truth and write it only if it differs; create it once, even
when runs race (spare copies are retired); in a dry run show the planned change instead. A study
repository's own run, the Factory's resync and the health check all go through `Engine`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from factory_sync.factory import CreateUnsure, Factory
from factory_sync.factory_config import Catalogs
from factory_sync.model import Study, TrackingIssue
from factory_sync.planner import Action, Plan, Policy, claim, holds_only_its_block, plan, retired
from factory_sync.portfolio import StudyResult, WriteBudget, deferred, result_of
from factory_sync.project_board import ProjectBoard
from factory_sync.runner import Runner
from factory_sync.stages import Progress, assess
from factory_sync.stall import with_time_in_stage
from factory_sync.summaries import body_diff, diff_summary


class Engine:
    """Checks studies against their tracking issues in one Factory."""

    def __init__(self, factory: Factory, policy: Policy, runner: Runner, dry_run: bool = False,
                 board: ProjectBoard | None = None, budget: WriteBudget | None = None,
                 catalogs: Catalogs | None = None, today: date | None = None, stall_days: int = 0) -> None:
        self.factory, self.policy, self.runner, self.dry_run = factory, policy, runner, dry_run
        # The run's portfolio rules: the catalog each study is checked against (its own, else the
        # Factory's), and the day (the runner's clock) and stall-days its time in stage is counted
        # with. None: the policy's catalog, and no time in stage.
        self.catalogs, self.today, self.stall_days = catalogs, today, stall_days
        self.budget = budget or WriteBudget(None)  # the writes this run may still make
        self.board = board  # the Factory's project board, kept after the tracking issues
        self.retired: list[int] = []  # spare copies retired in this run (their board items are archived)

    def tracking_issue(self, repo: str, pinned: int | None = None) -> TrackingIssue | None:
        """The study's tracking issue: the pinned one, or the one its marker names (spares retired)."""
        if pinned:
            return self.factory.issue(pinned)
        return self.settle(self.factory.tracking_issues(self.policy.tracking_label), repo)

    def check(self, study: Study, existing: TrackingIssue | None,
              diff_in_summary: bool = True) -> StudyResult:
        """Plan the study's tracking issue from its truth and write it if it differs (not in a dry run)."""
        runner = self.runner
        policy = self.policy_for(study)
        progress = assess(study, policy.catalog)
        if self.today is not None:
            progress = with_time_in_stage(progress, self.today, self.stall_days)
        self.progress[study.repo] = progress
        for label in progress.unknown_labels:
            runner.warning(f"{study.repo} uses the label {label!r}, which is not in the stage catalog; "
                           "it is listed as unknown. Add it to the `stages` file or rename the label.",
                           title="Unknown stage label")
        wanted = plan(study, progress, existing, policy)
        for change in wanted.changes:
            runner.info(f"- {change}")
        for warning in wanted.warnings:
            runner.warning(warning, title="factory-sync: label limit")
        if self.dry_run:
            if wanted.action in (Action.CREATE, Action.UPDATE):
                self._show_diff(study.repo, existing, wanted, diff_in_summary)
            return result_of(study.repo, wanted, existing)
        if wanted.action in (Action.CREATE, Action.UPDATE) and self.budget.spent:
            return deferred(result_of(study.repo, wanted, existing))
        if wanted.action == Action.CREATE:
            issue = self._create(wanted, study.repo)
            # The issue kept may be another run's, created from an older truth: reconcile it too.
            again = plan(study, progress, issue, policy)
            if again.action == Action.UPDATE:
                issue = self._update(issue.number, again)
            return result_of(study.repo, wanted, issue)
        if wanted.action == Action.UPDATE:
            assert wanted.number is not None
            again, issue = self._rewrite(study, progress, wanted.number, policy)
            return result_of(study.repo, again, issue)
        return result_of(study.repo, wanted, existing)

    def _rewrite(self, study: Study, progress: Progress, number: int,
                 policy: Policy) -> tuple[Plan, TrackingIssue]:
        """Write a tracking issue planned from an earlier reading: read it again just before, plan from
        what it holds now, and write only if that still differs, so that text people wrote since the
        listing is kept. GitHub offers no compare-and-swap on an issue's body (no If-Match on PATCH), so
        what is left is the one round trip between this read and the write."""
        fresh = self.factory.issue(number)
        again = plan(study, progress, fresh, policy)
        if again.action is Action.UPDATE:
            fresh = self._update(number, again)
        return again, fresh

    def _update(self, number: int, wanted: Plan) -> TrackingIssue:
        self.budget.spend()
        return self.factory.update(number, wanted.body, wanted.labels)

    def policy_for(self, study: Study) -> Policy:
        """The policy with the catalog this study is checked against; a catalog file with a mistake, or a
        `stages` input that disagrees with it, raises factory_config.ConfigError (nothing is written)."""
        if self.catalogs is None:
            return self.policy
        return replace(self.policy, catalog=self.catalogs.of(study)[0])

    @property
    def progress(self) -> dict[str, Progress]:
        """Each study checked in this run: its progress, time in stage included (dashboard, export)."""
        return self.__dict__.setdefault("_progress", {})

    def settle(self, issues: list[TrackingIssue], repo: str) -> TrackingIssue | None:
        """The study's tracking issue among `issues`; spare copies that racing runs created are retired."""
        found = claim(issues, repo)
        for spare in found.retire:
            assert found.keep is not None
            body, labels = retired(spare, found.keep, repo, self.policy.tracking_label)
            if self.dry_run:
                self.runner.info(f"Dry run: would close #{spare.number}, a spare copy of "
                                 f"#{found.keep.number}")
                continue
            if not holds_only_its_block(self.factory.issue(spare.number), repo):  # written in since?
                self.runner.warning(f"#{spare.number}, a copy of {repo}'s tracking issue "
                                    f"#{found.keep.number}, was written in since it was listed; it was left "
                                    f"open. Merge it into #{found.keep.number} by hand.")
                continue
            self.budget.spend()
            self.factory.retire(spare.number, body, labels)
            self.retired.append(spare.number)
            self.runner.info(f"Closed #{spare.number}, a spare copy of {repo}'s tracking issue "
                             f"#{found.keep.number}")
        return found.keep

    def _create(self, wanted: Plan, repo: str) -> TrackingIssue:
        """Create the study's tracking issue: never twice, and converging with runs that raced this one.

        A create that failed in a way that may have created the issue all the same (a 5xx, no answer) is
        not sent again blindly: the tracking issues are listed first, and one found is used. After the
        create they are listed again, because another run may have created one at the same time: every
        run keeps the same one (planner.claim) and the spare copies are retired.
        """
        self.budget.spend()
        try:
            created = self.factory.create(wanted.title, wanted.body, wanted.labels)
        except CreateUnsure as exc:
            self.runner.warning(f"{exc} Looking for the issue before creating it again.")
            found = claim(self.factory.tracking_issues(self.policy.tracking_label), repo).keep
            created = found or self.factory.create(wanted.title, wanted.body, wanted.labels)
        return self.settle(self.factory.tracking_issues(self.policy.tracking_label), repo) or created

    def _show_diff(self, study: str, existing: TrackingIssue | None, wanted: Plan, in_summary: bool) -> None:
        diff = body_diff(existing, wanted.body or "")
        with self.runner.group(f"Dry run: the planned body for {study} (nothing was written)"):
            self.runner.info(diff or "(no change)")
        if in_summary:
            self.runner.summary(diff_summary(diff))
