"""Masterminds/semver v3.3.0: versions and constraints (what Sprig's semver/semverCompare use)."""

from __future__ import annotations

import re
from typing import Any

from .errors import TemplateFuncError

_SEMVER = (r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
           r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
           r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?")
_VERSION_RE = re.compile("^" + _SEMVER + r"\Z")
_NUM = set("0123456789")
_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789")
_U64 = (1 << 64) - 1


def _parse_u64(s: str) -> int:
    v = int(s)
    if v > _U64:
        raise TemplateFuncError(f'Error parsing version segment: strconv.ParseUint: parsing "{s}": value out of range')
    return v


def _validate_prerelease(p: str) -> None:
    for part in p.split("."):
        if set(part) <= _NUM:
            if len(part) > 1 and part[0] == "0":
                raise TemplateFuncError("Version segment starts with 0")
        elif not set(part) <= _ALLOWED:
            raise TemplateFuncError("Invalid Prerelease string")


def _validate_metadata(m: str) -> None:
    for part in m.split("."):
        if not set(part) <= _ALLOWED:
            raise TemplateFuncError("Invalid Metadata string")


class Version:
    """*semver.Version: Go methods are exposed under their Go names (Major, Minor, ..., String)."""

    go_type = "*semver.Version"
    go_kind = "ptr"

    def __init__(self, major: int, minor: int, patch: int, pre: str, metadata: str, original: str) -> None:
        self.major, self.minor, self.patch = major, minor, patch
        self.pre, self.metadata, self.original = pre, metadata, original

    @classmethod
    def parse(cls, v: str) -> Version:
        m = _VERSION_RE.match(v)
        if m is None:
            raise TemplateFuncError("Invalid Semantic Version")
        major = _parse_u64(m.group(1))
        minor = _parse_u64(m.group(2)[1:]) if m.group(2) else 0
        patch = _parse_u64(m.group(3)[1:]) if m.group(3) else 0
        pre = m.group(5) or ""
        meta = m.group(8) or ""
        if pre:
            _validate_prerelease(pre)
        if meta:
            _validate_metadata(meta)
        return cls(major, minor, patch, pre, meta, v)

    # Go methods
    def Major(self) -> int:  # noqa: N802 - Go method names
        return self.major

    def Minor(self) -> int:  # noqa: N802
        return self.minor

    def Patch(self) -> int:  # noqa: N802
        return self.patch

    def Prerelease(self) -> str:  # noqa: N802
        return self.pre

    def Metadata(self) -> str:  # noqa: N802
        return self.metadata

    def Original(self) -> str:  # noqa: N802
        return self.original

    def String(self) -> str:  # noqa: N802
        s = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            s += "-" + self.pre
        if self.metadata:
            s += "+" + self.metadata
        return s

    def Compare(self, o: Version) -> int:  # noqa: N802
        for a, b in ((self.major, o.major), (self.minor, o.minor), (self.patch, o.patch)):
            if a != b:
                return -1 if a < b else 1
        if not self.pre and not o.pre:
            return 0
        if not self.pre:
            return 1
        if not o.pre:
            return -1
        return _compare_prerelease(self.pre, o.pre)

    def LessThan(self, o: Version) -> bool:  # noqa: N802
        return self.Compare(o) < 0

    def GreaterThan(self, o: Version) -> bool:  # noqa: N802
        return self.Compare(o) > 0

    def Equal(self, o: Version) -> bool:  # noqa: N802
        return self.Compare(o) == 0

    def _v_prefix(self) -> str:
        return "v" if self.original[:1] == "v" else ""

    def _next(self, major: int, minor: int, patch: int, pre: str = "", meta: str = "") -> Version:
        v = Version(major, minor, patch, pre, meta, "")
        v.original = self._v_prefix() + v.String()
        return v

    def IncPatch(self) -> Version:  # noqa: N802
        if self.pre:
            return self._next(self.major, self.minor, self.patch)
        return self._next(self.major, self.minor, self.patch + 1)

    def IncMinor(self) -> Version:  # noqa: N802
        return self._next(self.major, self.minor + 1, 0)

    def IncMajor(self) -> Version:  # noqa: N802
        return self._next(self.major + 1, 0, 0)

    def __str__(self) -> str:
        return self.String()

    def __repr__(self) -> str:
        return f"Version({self.String()!r})"

    def __go_field__(self, name: str) -> Any:
        """Go's field/method lookup for the executor: a bound method (with `.sig`), AttributeError if none."""
        if name not in _METHOD_SIGS:
            raise AttributeError(name)
        return getattr(self, name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.String() == other.String() and self.original == other.original

    def __hash__(self) -> int:
        return hash(self.String())

    def __go_json__(self) -> str:
        import json

        return json.dumps(self.String())


def _compare_pre_part(s: str, o: str) -> int:
    if s == o:
        return 0
    if s == "":
        return -1 if o != "" else 1
    if o == "":
        return 1 if s != "" else -1
    s_num = s.isdigit() and s.isascii() and int(s) <= _U64
    o_num = o.isdigit() and o.isascii() and int(o) <= _U64
    if not s_num and not o_num:
        return 1 if s > o else -1
    if not o_num:
        return -1
    if not s_num:
        return 1
    return 1 if int(s) > int(o) else -1


def _compare_prerelease(v: str, o: str) -> int:
    sp, op = v.split("."), o.split(".")
    for i in range(max(len(sp), len(op))):
        d = _compare_pre_part(sp[i] if i < len(sp) else "", op[i] if i < len(op) else "")
        if d:
            return d
    return 0


_CV = (r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
       r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
       r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?")
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_S = r"[\t\n\f\r ]"
_CONSTRAINT_RE = re.compile(rf"^{_S}*({_OPS}){_S}*({_CV}){_S}*\Z")
_RANGE_RE = re.compile(rf"{_S}*({_CV}){_S}+-{_S}+({_CV}){_S}*")
_FIND_RE = re.compile(rf"({_OPS}){_S}*({_CV})")
_VALID_RE = re.compile(rf"^({_S}*({_OPS}){_S}*({_CV}){_S}*)((?:{_S}+|,{_S}*)({_OPS}){_S}*({_CV}){_S}*)*\Z")


def _is_x(s: str) -> bool:
    return s in ("x", "*", "X")


class _Constraint:
    def __init__(self, con: Version, orig: str, op: str, minor_dirty: bool, patch_dirty: bool, dirty: bool) -> None:
        self.con, self.orig, self.op = con, orig, op
        self.minor_dirty, self.patch_dirty, self.dirty = minor_dirty, patch_dirty, dirty

    def check(self, v: Version) -> bool:  # noqa: C901 - mirrors the Go functions
        c = self.con
        op = self.op
        if op not in ("!=",) and v.pre and not c.pre:
            return False
        if op in ("", "="):
            if self.dirty:
                return self._tilde(v)
            return v.Equal(c)
        if op == "!=":
            if self.dirty:
                if v.pre and not c.pre:
                    return False
                if c.major != v.major:
                    return True
                if c.minor != v.minor and not self.minor_dirty:
                    return True
                if self.minor_dirty:
                    return False
                if c.patch != v.patch and not self.patch_dirty:
                    return True
                if self.patch_dirty:
                    if v.pre or c.pre:
                        return _compare_prerelease(v.pre, c.pre) != 0
                    return False
            return not v.Equal(c)
        if op == ">":
            if not self.dirty:
                return v.Compare(c) == 1
            if v.major > c.major:
                return True
            if v.major < c.major:
                return False
            if self.minor_dirty:
                return False
            if self.patch_dirty:
                return v.minor > c.minor
            return v.Compare(c) == 1
        if op == "<":
            return v.Compare(c) < 0
        if op in (">=", "=>"):
            return v.Compare(c) >= 0
        if op in ("<=", "=<"):
            if not self.dirty:
                return v.Compare(c) <= 0
            if v.major > c.major:
                return False
            return not (v.major == c.major and v.minor > c.minor and not self.minor_dirty)
        if op in ("~", "~>"):
            return self._tilde(v)
        if op == "^":
            if v.LessThan(c):
                return False
            if c.major > 0 or self.minor_dirty:
                return v.major == c.major
            if c.major == 0 and v.major > 0:
                return False
            if c.minor > 0 or self.patch_dirty:
                return v.minor == c.minor
            if c.minor == 0 and v.minor > 0:
                return False
            return c.patch == v.patch
        return False

    def _tilde(self, v: Version) -> bool:
        c = self.con
        if v.pre and not c.pre:
            return False
        if v.LessThan(c):
            return False
        if c.major == 0 and c.minor == 0 and c.patch == 0 and not self.minor_dirty and not self.patch_dirty:
            return True
        if v.major != c.major:
            return False
        return not (v.minor != c.minor and not self.minor_dirty)


def _parse_constraint(s: str) -> _Constraint:
    if not s:
        return _Constraint(Version(0, 0, 0, "", "", "0.0.0"), s, "", False, False, True)
    m = _CONSTRAINT_RE.match(s)
    if m is None:
        raise TemplateFuncError(f"improper constraint: {s}")
    groups = [m.group(0)] + list(m.groups())
    # groups: 1 op, 2 version, 3 major, 4 .minor, 5 .patch, 6 -pre, ...
    ver = groups[2]
    minor_dirty = patch_dirty = dirty = False
    pre = groups[6] or ""
    if _is_x(groups[3]) or groups[3] == "":
        ver = "0.0.0" + pre
        dirty = True
    elif _is_x((groups[4] or "").removeprefix(".")) or not groups[4]:
        minor_dirty = dirty = True
        ver = f"{groups[3]}.0.0{pre}"
    elif _is_x((groups[5] or "").removeprefix(".")) or not groups[5]:
        dirty = patch_dirty = True
        ver = f"{groups[3]}{groups[4]}.0{pre}"
    try:
        con = Version.parse(ver)
    except TemplateFuncError:
        raise TemplateFuncError("constraint Parser Error") from None
    return _Constraint(con, groups[2], groups[1], minor_dirty, patch_dirty, dirty)


def _rewrite_range(s: str) -> str:
    out = s
    for m in _RANGE_RE.finditer(s):
        # v[1] and v[11] of the Go submatches: the two versions
        out = out.replace(m.group(0), f">= {m.group(1)}, <= {m.group(11)} ", 1)
    return out


class Constraints:
    def __init__(self, text: str) -> None:
        text = _rewrite_range(text)
        self.ors: list[list[_Constraint]] = []
        for part in text.split("||"):
            if not _VALID_RE.match(part):
                raise TemplateFuncError(f"improper constraint: {part}")
            found = [m.group(0) for m in _FIND_RE.finditer(part)] or [part]
            self.ors.append([_parse_constraint(c) for c in found])

    def check(self, v: Version) -> bool:
        return any(all(c.check(v) for c in ands) for ands in self.ors)


def semver_compare(constraint: str, version: str) -> bool:
    c = Constraints(constraint)
    v = Version.parse(version)
    return c.check(v)


def as_version(v: Any) -> Version:
    return v if isinstance(v, Version) else Version.parse(str(v))


_METHOD_SIGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Major": ((), ("uint64",)), "Minor": ((), ("uint64",)), "Patch": ((), ("uint64",)),
    "Prerelease": ((), ("string",)), "Metadata": ((), ("string",)), "Original": ((), ("string",)),
    "String": ((), ("string",)), "Compare": (("*semver.Version",), ("int",)),
    "LessThan": (("*semver.Version",), ("bool",)), "GreaterThan": (("*semver.Version",), ("bool",)),
    "Equal": (("*semver.Version",), ("bool",)), "IncPatch": ((), ("semver.Version",)),
    "IncMinor": ((), ("semver.Version",)), "IncMajor": ((), ("semver.Version",)),
}
for _name, (_sig, _ret) in _METHOD_SIGS.items():
    _fn = getattr(Version, _name)
    _fn.sig = _sig
    _fn.returns = _ret
    _fn.variadic = False
