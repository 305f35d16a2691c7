"""The rights vocabulary (reference §7.3, §8) as pure functions: one test per right."""

from __future__ import annotations

from types import SimpleNamespace as NS

from utask.core.engine import rights


def caller(name="u", groups=(), admin=False):
    return NS(username=name, groups=list(groups), is_admin=admin)


def task(**kw):
    base = dict(requester_username="req", watcher_usernames=None, watcher_groups=None, resolver_usernames=None,
                resolver_groups=None)
    return NS(**{**base, **kw})


def template(**kw):
    base = dict(allowed_resolver_usernames=None, allowed_resolver_groups=None, allow_all_resolver_usernames=False)
    return NS(**{**base, **kw})


def test_admin():
    assert rights.is_admin(caller(admin=True)) and not rights.is_admin(caller())


def test_requester():
    assert rights.is_requester(caller("req"), task()) and not rights.is_requester(caller("x"), task())


def test_watcher_by_name_or_group():
    t = task(watcher_usernames=["w"], watcher_groups=["wg"])
    assert rights.is_watcher(caller("w"), t) and rights.is_watcher(caller("x", ["wg"]), t)
    assert not rights.is_watcher(caller("x", ["other"]), t)


def test_template_owner_by_name_or_group():
    tpl = template(allowed_resolver_usernames=["o"], allowed_resolver_groups=["og"])
    assert rights.is_template_owner(caller("o"), tpl) and rights.is_template_owner(caller("x", ["og"]), tpl)
    assert not rights.is_template_owner(caller("x"), tpl)


def test_resolution_manager():
    tpl = template(allowed_resolver_usernames=["o"], allow_all_resolver_usernames=True)
    t = task(resolver_usernames=["r"], resolver_groups=["rg"])
    res = NS(resolver_username="runner")
    assert rights.is_resolution_manager(caller("o"), tpl, t)
    assert rights.is_resolution_manager(caller("r"), tpl, t)
    assert rights.is_resolution_manager(caller("x", ["rg"]), tpl, t)
    assert rights.is_resolution_manager(caller("runner"), tpl, t, res)
    assert not rights.is_resolution_manager(caller("runner"), tpl, t)
    # allow_all_resolver_usernames does not make anybody a manager
    assert not rights.is_resolution_manager(caller("anybody"), tpl, t)


def test_read_and_outputs():
    tpl, t = template(allowed_resolver_usernames=["o"]), task(watcher_usernames=["w"])
    for who in (caller("req"), caller("w"), caller("o"), caller(admin=True)):
        assert rights.can_read_task(who, tpl, t)
    assert not rights.can_read_task(caller("x"), tpl, t)
    assert rights.sees_outputs(caller("o"), tpl, t) and rights.sees_outputs(caller(admin=True), tpl, t)
    assert not rights.sees_outputs(caller("req"), tpl, t) and not rights.sees_outputs(caller("w"), tpl, t)
    assert rights.sees_passwords(caller(admin=True)) and not rights.sees_passwords(caller("o"))


def test_update_task():
    tpl, t = template(allowed_resolver_usernames=["o"]), task()
    assert rights.can_update_task(caller("req"), tpl, t, has_resolution=False)
    assert not rights.can_update_task(caller("req"), tpl, t, has_resolution=True)
    assert rights.can_update_task(caller("o"), tpl, t, has_resolution=True)
    assert rights.can_update_task(caller(admin=True), tpl, t, has_resolution=True)


def test_wontfix_step_state_resolvers_comments():
    tpl, t = template(allowed_resolver_usernames=["o"]), task(resolver_usernames=["r"])
    assert rights.can_wontfix(caller("req"), tpl, t) and rights.can_wontfix(caller("r"), tpl, t)
    assert not rights.can_wontfix(caller("x"), tpl, t)
    assert rights.can_change_step_state(caller("o"), tpl)
    assert not rights.can_change_step_state(caller("r"), tpl)  # task resolvers are not enough
    assert rights.can_set_resolvers(caller("o"), tpl) and not rights.can_set_resolvers(caller("req"), tpl)
    assert rights.can_edit_comment(caller("a"), "a") and not rights.can_edit_comment(caller("b"), "a")
    assert rights.can_edit_comment(caller("b", admin=True), "a")


def test_autorun_and_sudo():
    t = task()
    assert rights.autoruns(caller("req"), template(allow_all_resolver_usernames=True), t)
    assert not rights.autoruns(caller("req"), template(), t)
    assert rights.autoruns(caller("o"), template(allowed_resolver_usernames=["o"]), t)
    assert rights.is_sudo(caller("boss", admin=True), template(), t)
    assert not rights.is_sudo(caller("req", admin=True), template(), t)
