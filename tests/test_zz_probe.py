import time
from actionkit import study_event
from stepkit import run_step
from factory_sync.sandbox.demo_world import build_demo_world, FACTORY_REPO, STUDY_REPO
from factory_sync.tracking_issue import begin_marker

KINDS = [("500", {}), ("502", {}), ("503", {}), ("secondary", {"retry_after": 1}), ("secondary", {}),
         ("429", {"retry_after": 1}), ("429", {}), ("dropped", {}), ("slow", {"seconds": 3})]

def world(github, key):
    w, k = build_demo_world(private_key=key)
    github.reset(w, k)
    factory = w.repo(FACTORY_REPO)
    body = f"Notes above\n\n{begin_marker(STUDY_REPO)}\n## Current stage: Base Camp\n<!-- factory-sync:end -->\n\nNotes below\n"
    t = w.create_issue(factory, f"Study: {STUDY_REPO}", body, "factory-team", labels=["study-tracking"])
    study = w.repo(STUDY_REPO)
    issue = w.create_issue(study, "Define", "", "demo-lead")
    w.add_label(study, issue, "stage:phenotype-development", "demo-lead")
    return t, issue

def test_probe(github, app_private_key, tmp_path):
    t, issue = world(github, app_private_key)
    ev = study_event("labeled", issue, label="stage:phenotype-development")
    r = run_step(github, tmp_path / "clean", "issues", ev, repository=STUDY_REPO)
    assert r.code == 0, r.log
    clean = t.body
    seq = [(e.method, e.path) for e in github.log.entries()]
    print(seq)
    for n in range(1, len(seq) + 1):
        for kind, opts in KINDS:
            t, issue = world(github, app_private_key)
            before = t.body
            github.faults.on_request(n, kind, **opts)
            started = time.time()
            try:
                r = run_step(github, tmp_path / f"{n}{kind}", "issues", ev, repository=STUDY_REPO, http_timeout="1")
                res = (r.code, t.body == clean, t.body == before, r.errors[:2])
            except Exception as exc:
                res = ("EXC", repr(exc)[:300])
            print(n, seq[n-1], kind, opts, f"{time.time()-started:.1f}s", res)
