"""The `input` action (manual-input step) and `POST /resolution/:id/step/:stepName/input`."""

from __future__ import annotations

from tests.api.conftest import ADMIN

from .conftest import ANALYST, OTHER, REGULAR


def _waiting(server) -> tuple[dict, str, dict]:
    task = server.create_task("manual-input", user=REGULAR)
    resolution = task.get("resolution") or server.resolve(task["id"])
    res = server.wait_resolution(resolution, {"WAITING"})
    return task, resolution, res["steps"]["ask"]


def _answer(server, resolution: str, values, user=ANALYST, step: str = "ask"):
    return server.post(f"/resolution/{resolution}/step/{step}/input", user, json={"values": values})


def test_input_step_waits_with_its_form(server):
    _, resolution, ask = _waiting(server)
    assert ask["state"] == "WAITING" and ask["error"] == "step is waiting for a manual input"
    form = ask["metadata"]
    assert form["message"] == "Score it, regular"  # rendered by the engine
    assert form["allowed_usernames"] == ["analyst"] and form["allowed_groups"] == ["reviewers"]
    assert [d["name"] for d in form["inputs"]] == ["score", "verdict", "note"]
    assert form["inputs"][1]["legal_values"] == ["good", "bad"]
    assert server.resolution(resolution)["steps"]["after"]["state"] == "TODO"


def test_answer_from_allowed_user_completes_and_resumes(server):
    task, resolution, _ = _waiting(server)
    r = _answer(server, resolution, {"score": 17.5, "verdict": "good", "junk": "dropped"})
    assert r.status_code == 200, r.text
    assert r.json()["values"] == {"score": 17.5, "verdict": "good", "note": "none"} and r.json()["resumed"]
    res = server.wait_resolution(resolution, {"DONE"}, timeout=10)
    assert res["steps"]["ask"]["state"] == "DONE"
    assert res["steps"]["ask"]["output"] == {"score": 17.5, "verdict": "good", "note": "none"}
    assert res["steps"]["ask"]["metadata"]["answered_by"] == "analyst"
    assert res["steps"]["after"]["output"] == {"score": "17.5", "verdict": "good", "note": "none"}
    # Who answered is in the audit trail, whose chain still verifies.
    audit = server.get(f"/task/{task['id']}/audit").json()
    assert audit["verified"] is True
    answered = [e for e in audit["events"] if e.get("step") == "ask" and (e.get("details") or {}).get("action")]
    assert len(answered) == 1 and answered[0]["actor"] == "analyst"
    assert answered[0]["details"] == {"action": "input", "answered_by": "analyst"}
    done = [e for e in audit["events"] if e.get("step") == "ask" and e.get("to_state") == "DONE"]
    assert done and done[0]["actor"] == "analyst"  # the run it resumed
    # Done: answering again is refused.
    r = _answer(server, resolution, {"score": 1, "verdict": "bad"})
    assert r.status_code == 400 and "is not an input step waiting for an answer" in r.json()["error"]


def test_answer_refused_to_others_and_checked_like_task_inputs(server):
    task, resolution, _ = _waiting(server)
    for user in (OTHER, REGULAR):  # the requester is not a resolution manager of this template
        r = _answer(server, resolution, {"score": 1, "verdict": "good"}, user=user)
        assert r.status_code == 403 and r.json()["error"] == "You are not allowed to answer this input step"
    cases = {
        "Missing input 'score'": {"verdict": "good"},
        "Invalid value 'score': expected a number": {"score": "12", "verdict": "good"},
        "Invalid input 'verdict': 'meh' is not a legal value ([good bad])": {"score": 1, "verdict": "meh"},
        "Invalid input 'note': cannot contain double quotes": {"score": 1, "verdict": "bad", "note": 'a"b'},
    }
    for message, values in cases.items():
        r = _answer(server, resolution, values)
        assert r.status_code == 400 and r.json()["error"] == message, r.text
    r = _answer(server, resolution, {"score": 1}, step="nope")
    assert r.status_code == 404
    r = server.post(f"/resolution/{resolution}/step/ask/input", ANALYST, json={"values": "x"})
    assert r.status_code == 400
    assert server.resolution(resolution)["steps"]["ask"]["state"] == "WAITING"
    # An admin may answer too (not an input step → 400 for everyone allowed).
    r = _answer(server, resolution, {"score": 3, "verdict": "bad"}, user=ADMIN, step="after")
    assert r.status_code == 400
    r = _answer(server, resolution, {"score": 3, "verdict": "bad"}, user=ADMIN)
    assert r.status_code == 200
    # The step's check condition sees the answer: a custom state, and `after` (needs DONE) is pruned.
    res = server.wait_resolution(resolution, {"DONE"})
    assert res["steps"]["ask"]["state"] == "BAD" and res["steps"]["ask"]["error"] == "judged bad by admin"
    assert res["steps"]["after"]["state"] == "PRUNE"


def test_group_member_may_answer(server):
    # groups-auth is not configured here: membership comes from the authenticator; checked through the op.
    from utask.core.engine.service import Caller
    from utask.hostapi.ops import inputs

    _, resolution, _ = _waiting(server)
    out = server.call(inputs.answer, server.services, Caller("someone", ["reviewers"]), resolution, "ask",
                      {"score": 2, "verdict": "good"})
    assert out["values"]["score"] == 2
    server.wait_resolution(resolution, {"DONE"})


def test_answer_kept_while_paused_and_used_by_the_next_run(server):
    _, resolution, _ = _waiting(server)
    assert server.post(f"/resolution/{resolution}/pause", ADMIN).status_code == 204
    r = _answer(server, resolution, {"score": 5, "verdict": "good"})
    assert r.status_code == 200 and r.json()["resumed"] is False, r.text  # recorded, not resumed
    assert server.resolution(resolution)["state"] == "PAUSED"
    r = _answer(server, resolution, {"score": 6, "verdict": "good"})
    assert r.status_code == 400 and r.json()["error"] == 'input step "ask" has already been answered'
    assert server.post(f"/resolution/{resolution}/run", ADMIN).status_code == 204
    res = server.wait_resolution(resolution, {"DONE"})
    assert res["steps"]["ask"]["output"]["score"] == 5


def test_the_form_is_shown_to_the_users_it_names_not_to_other_readers(server):
    """Step metadata is for resolvers and admins, but a waiting input step's form is also shown to the users
    it names (without any recorded answer) — others who may read the task see it hidden."""
    task = server.post("/task", REGULAR, json={"template_name": "manual-input", "input": {},
                                                "watcher_usernames": ["analyst", "other"]}).json()
    resolution = task.get("resolution") or server.resolve(task["id"])
    server.wait_resolution(resolution, {"WAITING"})
    named = server.get(f"/resolution/{resolution}", ANALYST).json()["steps"]["ask"]
    assert named["metadata"]["message"] == "Score it, regular"
    assert [d["name"] for d in named["metadata"]["inputs"]] == ["score", "verdict", "note"]
    assert named.get("output") is None
    one = server.get(f"/resolution/{resolution}/step/ask", ANALYST).json()
    assert one["metadata"] == named["metadata"]
    for user in (OTHER, REGULAR):
        assert server.get(f"/resolution/{resolution}", user).json()["steps"]["ask"]["metadata"] is None
    assert server.get(f"/resolution/{resolution}/step/ask", OTHER).json()["metadata"] is None
