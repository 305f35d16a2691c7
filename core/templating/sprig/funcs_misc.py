"""Sprig OS, paths, network, URL, regex, semver and UUID functions."""

from __future__ import annotations

import os
import random
import re
import socket
import uuid
from typing import Any
from urllib.parse import quote as _pct

from utask.core.gojson import nil_slice

from . import goregexp
from ._fmt import norm
from ._registry import gofunc
from .errors import TemplateFuncError
from .semver import Version, semver_compare

S, INT, IF, B = "string", "int", "interface{}", "bool"


@gofunc("env", (S,), (S,))
def env(name: str) -> str:
    return os.environ.get(name, "")


_EXPAND = re.compile(r"\$(\{([^}]*)\}?|[A-Za-z0-9_]+|[*#$@!?\-0-9])")


@gofunc("expandenv", (S,), (S,))
def expandenv(s: str) -> str:
    """os.ExpandEnv."""
    out: list[str] = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "$" and i + 1 < n:
            name, w = _get_shell_name(s[i + 1:])
            if name == "" and w > 0:
                pass  # invalid syntax: eat the characters
            elif name == "":
                out.append("$")
                i += 1
                continue
            else:
                out.append(os.environ.get(name, ""))
            i += 1 + w
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _is_shell_special(c: str) -> bool:
    return c in "*#$@!?-" or "0" <= c <= "9"


def _is_alnum(c: str) -> bool:
    return c == "_" or "0" <= c <= "9" or "a" <= c <= "z" or "A" <= c <= "Z"


def _get_shell_name(s: str) -> tuple[str, int]:
    if s[0] == "{":
        if len(s) > 2 and _is_shell_special(s[1]) and s[2] == "}":
            return s[1:2], 3
        for i in range(1, len(s)):
            if s[i] == "}":
                if i == 1:
                    return "", 2
                return s[1:i], i + 1
        return "", 1
    if _is_shell_special(s[0]):
        return s[0:1], 1
    i = 0
    while i < len(s) and _is_alnum(s[i]):
        i += 1
    return s[:i], i


# -- paths (Go's path and path/filepath on Unix) -----------------------------------------------------------


def go_clean(p: str) -> str:
    if p == "":
        return "."
    rooted = p.startswith("/")
    parts: list[str] = []
    for seg in p.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(seg)
    out = "/".join(parts)
    if rooted:
        return "/" + out
    return out or "."


def go_base(p: str) -> str:
    if p == "":
        return "."
    p = p.rstrip("/")
    if p == "":
        return "/"
    return p.rsplit("/", 1)[-1]


def go_dir(p: str) -> str:
    d = p[: p.rfind("/") + 1]
    return go_clean(d)


def go_ext(p: str) -> str:
    i = len(p) - 1
    while i >= 0 and p[i] != "/":
        if p[i] == ".":
            return p[i:]
        i -= 1
    return ""


for _names, _fn, _ret in (
    (("base", "osBase"), go_base, S), (("dir", "osDir"), go_dir, S), (("clean", "osClean"), go_clean, S),
    (("ext", "osExt"), go_ext, S), (("isAbs", "osIsAbs"), lambda p: p.startswith("/"), B),
):
    def _mk(fn: Any) -> Any:
        def wrapper(p: str) -> Any:
            return fn(p)

        wrapper.__name__ = getattr(fn, "__name__", "path_fn")
        return wrapper

    gofunc(_names, (S,), (_ret,))(_mk(_fn))


# -- network ---------------------------------------------------------------------------------------------------


@gofunc("getHostByName", (S,), (S,))
def get_host_by_name(name: str) -> str:
    try:
        infos = socket.getaddrinfo(name, None)
        addrs = list(dict.fromkeys(str(i[4][0]) for i in infos))
    except (OSError, UnicodeError):
        addrs = []
    if not addrs:
        raise TemplateFuncError("invalid argument to Intn")
    return random.choice(addrs)


# -- URLs (net/url) --------------------------------------------------------------------------------------------

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*\Z")


def _unescape(s: str, mode: str, raw: str = "") -> str:
    out = bytearray()
    b = s.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x25:
            h = b[i + 1:i + 3]
            if len(h) < 2 or not all(x in b"0123456789abcdefABCDEF" for x in h):
                bad = b[i:i + 3].decode("utf-8", "replace")
                raise TemplateFuncError(f"unable to parse url: parse {_q(raw or s)}: invalid URL escape {_q(bad)}")
            out.append(int(h, 16))
            i += 3
            continue
        out.append(c)
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _q(s: str) -> str:
    from ._fmt import go_quote

    return go_quote(s)


def url_parse_go(raw: str) -> dict[str, Any]:
    """net/url.Parse → the dict Sprig's urlParse returns (scheme, host, hostname, path, query, opaque,
    fragment, userinfo)."""
    rest, _, frag = raw.partition("#")
    fragment = _unescape(frag, "fragment", raw) if frag else ""
    if any(ord(c) < 0x20 or c == "\x7f" for c in rest):
        raise TemplateFuncError(f"unable to parse url: parse {_q(raw)}: net/url: invalid control character in URL")
    scheme = ""
    for i, c in enumerate(rest):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-.") and i > 0:
            continue
        if c == ":":
            if i == 0:
                raise TemplateFuncError(f"unable to parse url: parse {_q(raw)}: missing protocol scheme")
            scheme, rest = rest[:i].lower(), rest[i + 1:]
        break
    query = ""
    if "?" in rest:
        rest, _, query = rest.partition("?")
    opaque = host = userinfo = ""
    path = ""
    if not rest.startswith("/") and scheme:
        opaque = rest
    else:
        if (scheme or not rest.startswith("///")) and rest.startswith("//"):
            authority, slash, p = rest[2:].partition("/")
            rest = slash + p
            if "@" in authority:
                userinfo, _, host = authority.rpartition("@")
            else:
                host = authority
        path = _unescape(rest, "path", raw)
    hostname = host
    if host.startswith("["):
        hostname = host[1:host.find("]")] if "]" in host else host[1:]
    elif ":" in host:
        hostname = host.rsplit(":", 1)[0]
    if userinfo:
        user, colon, pw = userinfo.partition(":")
        userinfo = _pct(_unescape(user, "user", raw), safe="!$&'()*+,;=-._~") + (
            ":" + _pct(_unescape(pw, "pw", raw), safe="!$&'()*+,;=-._~") if colon else "")
    return {"scheme": scheme, "host": host, "hostname": hostname, "path": path, "query": query, "opaque": opaque,
            "fragment": fragment, "userinfo": userinfo}


@gofunc("urlParse", (S,), ("map[string]interface{}",))
def url_parse(v: str) -> dict[str, Any]:
    return url_parse_go(v)


def _dict_get_or_empty(d: dict[str, Any], key: str) -> str:
    if key not in d:
        return ""
    v = norm(d[key])
    if not isinstance(v, str):
        from ._cast import kind_name

        if v is None:
            from .errors import NIL_DEREF

            raise TemplateFuncError(NIL_DEREF)
        raise TemplateFuncError(f"unable to parse {key} key, must be of type string, but {kind_name(v)} found")
    return str.__str__(v)


def _escape_path(p: str) -> str:
    return _pct(p, safe="/!$&'()*+,;=:@-._~")


def _escape_fragment(p: str) -> str:
    return _pct(p, safe="/?!$&'()*+,;=:@-._~")


@gofunc("urlJoin", ("map[string]interface{}",), (S,))
def url_join(d: dict[str, Any]) -> str:
    scheme = _dict_get_or_empty(d, "scheme")
    host = _dict_get_or_empty(d, "host")
    path = _dict_get_or_empty(d, "path")
    query = _dict_get_or_empty(d, "query")
    opaque = _dict_get_or_empty(d, "opaque")
    fragment = _dict_get_or_empty(d, "fragment")
    userinfo = _dict_get_or_empty(d, "userinfo")
    out = ""
    if scheme:
        out += scheme + ":"
    if opaque:
        out += opaque
    else:
        if scheme or host or userinfo:
            if host or path or userinfo:
                out += "//"
            if userinfo:
                out += userinfo + "@"
            if host:
                out += _pct(host, safe="!$&'()*+,;=:[]-._~")
        ep = _escape_path(path)
        if ep and not ep.startswith("/") and host:
            out += "/"
        if not out:
            seg = ep.split("/", 1)[0]
            if ":" in seg:
                out += "./"
        out += ep
    if query:
        out += "?" + query
    if fragment:
        out += "#" + _escape_fragment(fragment)
    return out


# -- regex -------------------------------------------------------------------------------------------------------


def _compile(expr: str) -> Any:
    try:
        return goregexp.compile_go(expr)
    except goregexp.GoRegexpError as exc:
        raise TemplateFuncError(str(exc)) from None


@gofunc("regexMatch", (S, S), (B,))
def regex_match(regex: str, s: str) -> bool:
    try:
        return goregexp.compile_go(regex).search(s) is not None
    except goregexp.GoRegexpError:
        return False


@gofunc("mustRegexMatch", (S, S), (B, "error"))
def must_regex_match(regex: str, s: str) -> bool:
    return _compile(regex).search(s) is not None


@gofunc("regexFindAll", (S, S, INT), ("[]string",))
def regex_find_all(regex: str, s: str, n: int) -> list[Any]:
    r = goregexp.find_all(goregexp.must_compile(regex), s, n)
    return nil_slice() if r is None else r


@gofunc("mustRegexFindAll", (S, S, INT), ("[]string", "error"))
def must_regex_find_all(regex: str, s: str, n: int) -> list[Any]:
    r = goregexp.find_all(_compile(regex), s, n)
    return nil_slice() if r is None else r


@gofunc("regexFind", (S, S), (S,))
def regex_find(regex: str, s: str) -> str:
    return goregexp.find(goregexp.must_compile(regex), s)


@gofunc("mustRegexFind", (S, S), (S, "error"))
def must_regex_find(regex: str, s: str) -> str:
    return goregexp.find(_compile(regex), s)


@gofunc("regexReplaceAll", (S, S, S), (S,))
def regex_replace_all(regex: str, s: str, repl: str) -> str:
    return goregexp.replace_all(goregexp.must_compile(regex), s, repl, False)


@gofunc("mustRegexReplaceAll", (S, S, S), (S, "error"))
def must_regex_replace_all(regex: str, s: str, repl: str) -> str:
    return goregexp.replace_all(_compile(regex), s, repl, False)


@gofunc("regexReplaceAllLiteral", (S, S, S), (S,))
def regex_replace_all_literal(regex: str, s: str, repl: str) -> str:
    return goregexp.replace_all(goregexp.must_compile(regex), s, repl, True)


@gofunc("mustRegexReplaceAllLiteral", (S, S, S), (S, "error"))
def must_regex_replace_all_literal(regex: str, s: str, repl: str) -> str:
    return goregexp.replace_all(_compile(regex), s, repl, True)


@gofunc("regexSplit", (S, S, INT), ("[]string",))
def regex_split(regex: str, s: str, n: int) -> list[Any]:
    r = goregexp.split(goregexp.must_compile(regex), s, n, regex)
    return nil_slice() if r is None else r


@gofunc("mustRegexSplit", (S, S, INT), ("[]string", "error"))
def must_regex_split(regex: str, s: str, n: int) -> list[Any]:
    r = goregexp.split(_compile(regex), s, n, regex)
    return nil_slice() if r is None else r


@gofunc("regexQuoteMeta", (S,), (S,))
def regex_quote_meta(s: str) -> str:
    return goregexp.quote_meta(s)


# -- semver, uuid --------------------------------------------------------------------------------------------------


@gofunc("semver", (S,), ("*semver.Version", "error"))
def semver(version: str) -> Version:
    return Version.parse(version)


@gofunc("semverCompare", (S, S), (B, "error"))
def semver_compare_(constraint: str, version: str) -> bool:
    return semver_compare(constraint, version)


@gofunc("uuidv4", (), (S,))
def uuidv4() -> str:
    return str(uuid.uuid4())
