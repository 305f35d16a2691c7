"""Differential tests: Sprig functions through our engine vs the real Go text/template + Sprig.

Deterministic functions only; every case renders the same template with the same data on both sides
(data decoded with exact numbers, as µTask does). Where Sprig 3.3.0 (µTask's pin) differs from
Debian's 3.2.3 (the oracle), the case is in test_sprig_units.py instead.
"""

from __future__ import annotations

import json

import pytest
from utask.core.gojson import loads

from .go_oracle import GoOracle

DATA_JSON = json.dumps({
    "s": "Hello World", "empty": "", "n": 42, "neg": -7, "f": 1.5, "big": 1619464078, "dec": 2.50,
    "zero": 0, "t": True, "no": False, "nil": None,
    "l": [1, "a", None, 2.5, True], "sl": ["b", "a", "c", "a"], "el": [],
    "m": {"b": 1, "a": [True], "c": {"d": "e"}}, "em": {},
    "html": "<a href=\"x\">&</a>", "uni": "héllo wörld ñ", "multi": "line1\nline2\n",
    "nums": [3, 1, 2], "csv": "a,b,,c", "path": "/a/b/../c/file.tar.gz",
    "url": "https://user:pass@example.com:8080/p/a%20th?q=1&r=2#frag",
})

CASES: list[str] = [
    # strings
    '{{ trim "  a b  " }}|{{ trim "\\t\\n x \\u00a0" }}', '{{ upper "abc é ß" }}', '{{ lower "ABC É" }}',
    '{{ title "hello wOrld-foo_bar x.y" }}', '{{ untitle "Hello World  Foo" }}', '{{ substr 1 3 "abcdef" }}',
    '{{ substr -1 3 "abcdef" }}', '{{ substr 2 -1 "abcdef" }}', '{{ substr 2 99 "abcdef" }}',
    '{{ repeat 3 "ab" }}', '{{ "ab" | repeat 0 }}', '{{ trimAll "$" "$$5.00$" }}', '{{ trimall "-" "--a--" }}',
    '{{ trimSuffix "-" "a-b-" }}', '{{ trimPrefix "-" "-a-b" }}', '{{ nospace " a b\\tc\\n" }}',
    '{{ initials "hello big world" }}', '{{ swapcase "Hello World aBC" }}', '{{ snakecase "FirstName" }}',
    '{{ snakecase "HTTPServer" }}', '{{ snakecase "http2xx HTTP20xOK Duration2m3s Bld4Floor3rd" }}',
    '{{ kebabcase "FirstName" }}', '{{ kebabcase "GO_PATH" }}', '{{ snakecase "GO PATH" }}',
    '{{ camelcase "http_server" }}', '{{ camelcase "some words" }}', '{{ camelcase "_complex__case_" }}',
    '{{ wrap 5 "hello world foo bar" }}', '{{ wrapWith 5 "\\t" "hello world" }}', '{{ wrap 3 "abcdefgh ij" }}',
    '{{ wrapWith 3 "|" "abcdefgh ij" }}', '{{ contains "cat" "catch" }}', '{{ hasPrefix "ca" "cat" }}',
    '{{ hasSuffix "at" "cat" }}', '{{ quote "a" 1 .nil "b\\"c" .f }}', '{{ squote "a" 1 .nil .m }}',
    '{{ cat "a" 1 .nil .l .missing 2.5 }}', '{{ indent 2 "a\\nb" }}', '{{ nindent 2 "a\\nb" }}',
    '{{ replace "a" "b" "banana" }}', '{{ replace "" "-" "abc" }}', '{{ plural "one" "many" 1 }}{{ plural "one" "many" 2 }}',
    '{{ trunc 3 "abcdef" }}|{{ trunc -2 "abcdef" }}|{{ trunc 10 "ab" }}|{{ trunc -10 "ab" }}',
    '{{ abbrev 5 "hello world" }}|{{ abbrev 3 "hello" }}|{{ abbrev 20 "hello" }}',
    '{{ abbrevboth 5 10 "1234 5678 9123 4567" }}|{{ abbrevboth 0 7 "abcdefghijk" }}|{{ abbrevboth 1 4 "abcdefgh" }}',
    '{{ join "," .sl }}|{{ join "-" .l }}|{{ join "," "abc" }}|{{ join "," .nil }}',
    '{{ split "," .csv }}', '{{ (split "," .csv)._1 }}', '{{ splitList "," .csv }}', '{{ splitn "," 2 .csv }}',
    '{{ splitList "" "abc" }}', '{{ toStrings .l }}', '{{ toStrings 1 }}', '{{ sortAlpha .sl }}',
    '{{ sortAlpha "x" }}', '{{ b64enc "hello world" }}', '{{ b64dec "aGVsbG8gd29ybGQ=" }}', '{{ b64dec "aGVsbG8" }}',
    '{{ b64dec "!!" }}', '{{ b64dec "aGVsbA==x" }}', '{{ b64dec "aGVsbA=" }}', '{{ b32enc "hello" }}',
    '{{ b32dec "NBSWY3DP" }}', '{{ toString 1 }}|{{ toString .f }}|{{ toString .nil }}|{{ toString .m }}|{{ toString .big }}',
    '{{ toString 1e21 }}|{{ toString 0.000001 }}|{{ toString 123456.0 }}|{{ toString 1234567.0 }}',
    '{{ upper .uni }}|{{ title .uni }}|{{ trunc 3 "héllo" | len }}',
    # lists
    '{{ list 1 "a" .nil }}', '{{ tuple 1 2 }}', '{{ append .nums 4 }}', '{{ push .el "x" }}', '{{ prepend .nums 0 }}',
    '{{ first .nums }}|{{ first .el }}|{{ last .nums }}|{{ last .el }}', '{{ rest .nums }}|{{ rest .el }}',
    '{{ initial .nums }}|{{ initial .el }}', '{{ reverse .nums }}', '{{ uniq .sl }}', '{{ uniq (list 1 1 "1" .n .n) }}',
    '{{ without .sl "a" }}', '{{ without .nums 1 3 }}', '{{ has "a" .sl }}|{{ has 1 .nums }}|{{ has "z" .nil }}',
    '{{ compact (list 0 1 "" "a" .nil false true .el .em) }}', '{{ slice .nums 1 }}|{{ slice .nums 0 2 }}|{{ slice .nums }}',
    '{{ slice .el }}', '{{ concat .nums .sl (list 9) }}', '{{ chunk 2 .nums }}|{{ chunk 3 .nums }}|{{ chunk 1 .el }}',
    '{{ until 5 }}|{{ until -3 }}|{{ until 0 }}', '{{ untilStep 0 10 3 }}|{{ untilStep 10 0 -4 }}|{{ untilStep 0 10 -1 }}',
    '{{ seq 5 }}|{{ seq -3 }}|{{ seq 2 5 }}|{{ seq 5 2 }}|{{ seq 0 2 10 }}|{{ seq 10 -3 1 }}|{{ seq 1 2 3 4 }}|{{ seq }}',
    '{{ first "abc" }}', '{{ first .missing }}', '{{ append 1 2 }}', '{{ rest .m }}', '{{ concat .nums 1 }}',
    '{{ slice "abc" 1 }}', '{{ mustFirst .s }}', '{{ has 1 "abc" }}',
    # dicts
    '{{ dict "a" 1 "b" "x" }}|{{ dict "a" }}|{{ dict 1 2 .nil 3 }}', '{{ get .m "b" }}|{{ get .m "zz" }}',
    '{{ $d := dict "a" 1 }}{{ set $d "b" 2 }}{{ $d }}', '{{ $d := dict "a" 1 "b" 2 }}{{ unset $d "a" }}',
    '{{ hasKey .m "a" }}|{{ hasKey .m "z" }}', '{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3) }}',
    '{{ keys .m | sortAlpha }}', '{{ values (dict "a" 1) }}', '{{ pick .m "a" "c" "zz" }}', '{{ omit .m "a" }}',
    '{{ merge (dict "a" 1 "c" (dict "x" 1)) (dict "a" 2 "b" 3 "c" (dict "y" 2)) }}',
    '{{ mergeOverwrite (dict "a" 1 "c" (dict "x" 1)) (dict "a" 2 "b" 3 "c" (dict "y" 2)) }}',
    '{{ merge (dict "a" "" "b" 0 "l" (list)) (dict "a" "x" "b" 5 "l" (list 1)) }}',
    '{{ mergeOverwrite (dict "a" "x" "l" (list 1)) (dict "a" "" "l" (list)) }}',
    '{{ merge (dict "a" (list 1)) (dict "a" (list 2)) }}|{{ mergeOverwrite (dict "a" (list 1)) (dict "a" (list 2)) }}',
    '{{ merge (dict "a" "s") (dict "a" (dict "x" 1)) }}',
    '{{ deepCopy .m }}', '{{ dig "c" "d" "dflt" .m }}|{{ dig "c" "zz" "dflt" .m }}|{{ dig "zz" "dflt" .m }}',
    '{{ dig "b" "x" "dflt" .m }}', '{{ dig "a" .m }}',
    # math
    '{{ add 1 2 3 }}|{{ add }}|{{ add "4" .n .f }}|{{ add .big 1 }}', '{{ add1 .n }}|{{ add1 "x" }}',
    '{{ sub 10 3 }}|{{ sub .neg 1 }}', '{{ div 7 2 }}|{{ div -7 2 }}|{{ div .n 5 }}', '{{ mod 7 3 }}|{{ mod -7 3 }}|{{ mod 7 -3 }}',
    '{{ mul 2 3 4 }}|{{ mul .n }}', '{{ max 1 5 3 }}|{{ biggest 1 .n }}|{{ min 4 2 8 }}|{{ min .neg }}',
    '{{ mod 1 0 }}', '{{ add 9223372036854775807 1 }}', '{{ mul 4611686018427387904 4 }}',
    '{{ addf 1.5 2 }}|{{ add1f 1.1 }}|{{ subf 10 0.1 0.2 }}|{{ mulf 1.1 3 }}|{{ divf 10 3 }}|{{ divf 1 3 3 }}',
    '{{ addf 0.1 0.2 }}|{{ mulf 0.1 0.1 }}|{{ divf 2 3 }}|{{ divf 1 0 }}',
    '{{ maxf 1 2.5 .f }}|{{ minf 1 -2.5 }}|{{ maxf "x" }}', '{{ floor 1.7 }}|{{ floor -1.2 }}|{{ ceil 1.2 }}|{{ ceil -0.5 }}',
    '{{ round 3.14159 2 }}|{{ round 2.5 0 }}|{{ round -2.5 0 }}|{{ round 2.345 2 0.3 }}|{{ round 1234.5 -2 }}',
    '{{ toDecimal "0777" }}|{{ toDecimal 777 }}|{{ toDecimal "9" }}', '{{ atoi "42" }}|{{ atoi "x" }}|{{ atoi " 4" }}|{{ atoi "+7" }}',
    '{{ int64 "42" }}|{{ int64 "0x1F" }}|{{ int64 "017" }}|{{ int64 "1_000" }}|{{ int64 "3.00" }}|{{ int64 "3.5" }}|{{ int64 .f }}|{{ int64 .big }}|{{ int64 .dec }}',
    '{{ int "12" }}|{{ int .t }}|{{ int .nil }}|{{ int "0b101" }}|{{ int "-0o17" }}|{{ int "99999999999999999999" }}',
    '{{ float64 "1.5" }}|{{ float64 "1e3" }}|{{ float64 .n }}|{{ float64 "x" }}|{{ float64 "0x1p-2" }}|{{ float64 "inf" }}|{{ float64 "1_000.5" }}',
    '{{ float64 .big }}|{{ float64 .dec }}|{{ float64 1000000 }}|{{ float64 "1e400" }}',
    # defaults
    '{{ default "d" .missing }}|{{ default "d" "" }}|{{ default "d" "x" }}|{{ default "d" 0 }}|{{ default "d" .el }}|{{ default "d" .zero }}|{{ default "d" .n }}',
    '{{ default "d" .nil }}|{{ default "d" false }}|{{ default "d" .em }}|{{ default "d" .m }}|{{ default "d" }}',
    '{{ empty "" }}|{{ empty .n }}|{{ empty .zero }}|{{ empty .missing }}|{{ empty .el }}|{{ empty .l }}|{{ empty .no }}',
    '{{ coalesce .missing "" 0 "x" }}|{{ coalesce .nil }}', '{{ all 1 "a" true }}|{{ all 1 "" }}|{{ any 0 "" "x" }}|{{ any }}|{{ all }}',
    '{{ ternary "y" "n" true }}|{{ ternary "y" "n" false }}',
    '{{ toJson .m }}|{{ toJson .html }}|{{ toRawJson .html }}|{{ toJson .nil }}|{{ toJson .big }}|{{ toJson .dec }}',
    '{{ toPrettyJson .m }}', '{{ toPrettyJson .el }}|{{ toPrettyJson .em }}', '{{ toJson .l }}', '{{ toJson (list 1.0 1e21 1e-7 0.1) }}',
    '{{ fromJson "{\\"a\\":1}" }}', '{{ (fromJson "[1,2.5]") }}', '{{ fromJson "bad" }}', '{{ toJson (fromJson "{\\"a\\":1e6}") }}',
    '{{ mustFromJson "{\\"a\\":" }}', '{{ mustFromJson "{\\"a\\" 1}" }}', '{{ mustFromJson "[1 2]" }}', '{{ mustFromJson "x" }}',
    '{{ mustFromJson "{\\"a\\":1 x}" }}', '{{ mustFromJson "{1}" }}', '{{ mustFromJson "1 2" }}',
    '{{ typeOf .s }}|{{ typeOf .n }}|{{ typeOf .nil }}|{{ typeOf .l }}|{{ typeOf .m }}|{{ typeOf 1 }}|{{ typeOf 1.5 }}|{{ typeOf true }}',
    '{{ kindOf .s }}|{{ kindOf .n }}|{{ kindOf .nil }}|{{ kindOf .l }}|{{ kindOf .m }}|{{ kindOf 1 }}|{{ kindOf 1.5 }}|{{ kindOf .t }}',
    '{{ typeIs "string" .s }}|{{ typeIs "int" .n }}|{{ kindIs "string" .n }}|{{ typeIsLike "string" .s }}',
    '{{ deepEqual .m .m }}|{{ deepEqual (list 1) (list 1) }}|{{ deepEqual 1 .n }}|{{ deepEqual .n .n }}|{{ deepEqual .nil .missing }}',
    '{{ fail "boom" }}',
    # paths, urls, regex, semver, hashes
    '{{ base .path }}|{{ dir .path }}|{{ clean .path }}|{{ ext .path }}|{{ isAbs .path }}|{{ isAbs "a/b" }}',
    '{{ base "" }}|{{ base "/" }}|{{ dir "" }}|{{ dir "a" }}|{{ clean "a//b/./../c/" }}|{{ ext "a/b.c/d" }}',
    '{{ osBase "/x/y/" }}|{{ osDir "/x/y/" }}|{{ osClean "../a/../../b" }}|{{ osExt "f.txt" }}|{{ osIsAbs "/" }}',
    '{{ urlParse .url }}', '{{ urlParse "mailto:a@b.c" }}', '{{ urlParse "/rel/path?x=1" }}',
    '{{ urlJoin (dict "scheme" "https" "host" "h.com" "path" "/a b" "query" "x=1" "fragment" "f g") }}',
    '{{ urlJoin (dict "scheme" "mailto" "opaque" "a@b.c") }}', '{{ urlJoin (dict "host" "h" "path" "p" "userinfo" "u:p") }}',
    '{{ urlJoin (urlParse .url) }}', '{{ urlJoin (dict "host" 1) }}',
    '{{ regexMatch "^[a-z]+\\\\d$" "abc1" }}|{{ regexMatch "^x$" "x\\n" }}|{{ regexMatch "(" "x" }}',
    '{{ regexFindAll "a." "aaxaybaz" -1 }}|{{ regexFindAll "a." "aaxay" 1 }}|{{ regexFindAll "z" "aa" -1 }}|{{ regexFindAll "a*" "baaab" -1 }}',
    '{{ regexFind "[0-9]+" "ab123cd45" }}|{{ regexFind "z" "ab" }}',
    '{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}|{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}|{{ regexReplaceAll "a*" "baaab" "X" }}',
    '{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}|{{ regexReplaceAll "(?P<w>\\\\w+)" "hi yo" "<$w>" }}',
    '{{ regexSplit "z+" "pizza" -1 }}|{{ regexSplit "z+" "pizza" 1 }}|{{ regexSplit "" "abc" -1 }}|{{ regexSplit "a" "" -1 }}|{{ regexSplit "x*" "axbxc" 2 }}',
    '{{ regexQuoteMeta "1.2.3+[a]" }}', '{{ mustRegexFind "(" "x" }}', '{{ regexFind "[" "x" }}', '{{ mustRegexMatch "a**" "x" }}',
    '{{ regexMatch "(?i)HELLO" "hello" }}|{{ regexMatch "\\\\bfoo\\\\b" "a foo b" }}|{{ regexFindAll "(?m)^\\\\w" "ab\\ncd" -1 }}|{{ regexMatch "[[:digit:]]+" "x12" }}',
    '{{ regexReplaceAll "\\\\s+" "a  b\\t\\nc" " " }}|{{ regexFindAll "\\\\d{2,3}" "1 12 1234" -1 }}|{{ regexMatch "x{,2}" "x{,2}" }}',
    '{{ semverCompare ">=1.2.0" "1.3.0" }}|{{ semverCompare "~1.2" "1.3.0" }}|{{ semverCompare "^1.2" "1.9.9" }}|{{ semverCompare "^0.2.3" "0.3.0" }}',
    '{{ semverCompare "1.x" "1.5.0" }}|{{ semverCompare ">1.0, <2.0" "1.5.0" }}|{{ semverCompare "<1.0 || >=3" "3.1.0" }}|{{ semverCompare "!=1.2.3" "1.2.3" }}',
    '{{ semverCompare ">=1.0.0" "1.1.0-beta" }}|{{ semverCompare ">=1.0.0-0" "1.1.0-beta" }}|{{ semverCompare "1.2.3 - 2.0" "1.9.0" }}|{{ semverCompare "*" "0.0.1" }}',
    '{{ semverCompare "bad" "1.0.0" }}', '{{ semverCompare "1.0" "x.y" }}', '{{ semver "v1.2.3-beta.1+b5" }}', '{{ semver "1.2" }}',
    '{{ semver "nope" }}', '{{ semver "1.02.3" }}',
    '{{ sha1sum "abc" }}|{{ sha256sum "abc" }}|{{ adler32sum "abc" }}|{{ sha1sum "" }}',
    '{{ derivePassword 1 "long" "password" "user" "example.com" }}|{{ derivePassword 1 "nope" "p" "u" "s" }}',
    '{{ htpasswd "a:b" "pw" }}', '{{ decryptAES "secretkey" "" }}|{{ encryptAES "k" "" }}',
    '{{ decryptAES "k" "%%%" }}', '{{ decryptAES "k" "YWJj" }}',
    # dates (deterministic)
    '{{ toDate "2006-01-02" "2024-02-03" }}', '{{ toDate "2006-01-02 15:04:05" "2024-02-03 04:05:06" | date "Mon Jan 2 15:04:05 2006" }}',
    '{{ toDate "2006-01-02T15:04:05Z07:00" "2024-02-03T04:05:06+02:00" }}', '{{ toDate "2006-01-02" "nope" | date "2006-01-02 15:04 MST" }}',
    '{{ mustToDate "2006-01-02" "2024-13-01" }}', '{{ mustToDate "2006-01-02" "x" }}', '{{ mustToDate "2006-01-02" "2024-02-30" }}',
    '{{ mustToDate "2006-01-02" "2024-02-03 extra" }}', '{{ toDate "02/01/06 3:04PM" "25/12/99 1:30PM" }}',
    '{{ toDate "Jan _2 2006 .000" "Feb  3 2024 .123" }}', '{{ toDate "January 2, 2006" "march 4, 2021" }}',
    '{{ date "2006-01-02 15:04:05.000 MST -07:00 Z0700 pm PM 3 03 _2 __2 002 Monday Mon January Jan 06" (toDate "2006-01-02 15:04:05.999" "2024-02-03 16:05:06.789") }}',
    '{{ htmlDate (toDate "2006-01-02" "2024-02-03") }}|{{ htmlDateInZone (toDate "2006-01-02" "2024-02-03") "Asia/Tokyo" }}',
    '{{ dateInZone "2006-01-02 15:04 MST" (toDate "2006-01-02 15:04" "2024-07-03 23:30") "Europe/Paris" }}|{{ dateInZone "15:04 MST" 0 "Nowhere/Bad" }}',
    '{{ date "2006-01-02 15:04:05" 86400 }}|{{ dateInZone "2006-01-02" 1700000000 "UTC" }}',
    '{{ dateModify "1h30m" (toDate "2006-01-02" "2024-02-03") }}|{{ dateModify "bad" (toDate "2006-01-02" "2024-02-03") }}|{{ dateModify "-1.5h" (toDate "2006-01-02" "2024-02-03") }}',
    '{{ mustDateModify "bad" (toDate "2006-01-02" "2024-02-03") }}', '{{ mustDateModify "1x" (toDate "2006-01-02" "2024-02-03") }}', '{{ mustDateModify "1" (toDate "2006-01-02" "2024-02-03") }}',
    '{{ unixEpoch (toDate "2006-01-02" "2024-02-03") }}|{{ unixEpoch (toDate "2006-01-02" "1969-12-31") }}',
    '{{ duration "90" }}|{{ duration "3661" }}|{{ duration "x" }}|{{ duration .n }}|{{ duration "-5" }}|{{ duration "0" }}',
    '{{ durationRound "2h10m" }}|{{ durationRound "1s" }}|{{ durationRound "400h" }}|{{ durationRound "9000h" }}|{{ durationRound "-3m" }}|{{ durationRound "bad" }}|{{ durationRound "1.5ms" }}',
    '{{ duration (add 0 90) }}|{{ duration (mul 1 100000) }}|{{ durationRound (mul 1 1500000000) }}',
    '{{ hello }}',
    # unicode, bytes, corner cases
    '{{ quote "tab\\there" "nul\\x00" "é\\u200b" "\\u00a0" "日本" }}',
    '{{ regexFindAll "." "héllo" -1 }}|{{ regexReplaceAll "" "héllo" "-" }}|{{ regexSplit "" "hé" -1 }}',
    '{{ toString (list 1.5 (dict "a" .nil) .big 1e6) }}',
    '{{ squote .nil "x" }}|{{ cat }}|{{ quote }}',
    '{{ title "ǆemal hello_world" }}|{{ upper "ǆ" }}|{{ lower "İ" }}',
    '{{ swapcase "ǅ hello ÉCOLE" }}',
    '{{ initials "élan vital" }}|{{ nospace "a\\u00a0b c" }}',
    '{{ wrap 4 "héllo wörld" }}',
    '{{ abbrev 6 "héllo wörld" }}',
    '{{ snakecase "ÜberCool" }}|{{ kebabcase "hello.World-foo" }}|{{ snakecase "a1B2" }}|{{ snakecase "__init__" }}',
    '{{ b64enc "é" }}|{{ b64dec "w6k=" }}|{{ b32dec "bad" }}|{{ b32dec "NBSWY3D" }}',
    '{{ toJson "é\\u2028" }}|{{ toJson (list "<" ">" "&") }}',
    '{{ int64 "-9223372036854775808" }}|{{ int64 "9223372036854775808" }}|{{ int64 .neg }}|{{ add1 .dec }}',
    '{{ atoi "0x10" }}|{{ atoi "010" }}|{{ float64 "  1" }}|{{ float64 ".5" }}|{{ float64 "5." }}|{{ float64 "1e" }}|{{ float64 "NaN" }}|{{ float64 "-Inf" }}',
    '{{ round 1.005 2 }}|{{ round 0.5 0 }}|{{ round -0.4 0 }}|{{ floor .nil }}|{{ ceil "2.1" }}',
    '{{ mulf 0.1 3 }}|{{ divf 0.1 3 }}|{{ subf 0.3 0.1 }}|{{ addf "x" 1 }}|{{ divf 1e300 1e-300 }}',
    '{{ max "5" "x" 3 }}|{{ min }}',
    '{{ default 5 .t }}|{{ default .l .el }}|{{ coalesce 0 0.0 "" .el .em .no "z" }}',
    '{{ urlParse "http://[::1]:80/x" }}|{{ urlParse "http://h/a%2Fb" }}|{{ urlParse "//h/p" }}|{{ urlParse "x" }}',
    '{{ urlParse "http://h/%zz" }}',
    '{{ urlJoin (dict "path" "a:b") }}|{{ urlJoin (dict "scheme" "http" "path" "x") }}|{{ urlJoin (dict) }}',
    '{{ regexReplaceAll "(a)(b)?" "ac ab" "[$2|$1]" }}|{{ regexReplaceAll "a" "aaa" "$" }}|{{ regexReplaceAll "a" "aaa" "${" }}|{{ regexReplaceAll "(?P<x>a)" "a" "${x}${y}$0" }}',
    '{{ regexFindAll "[[:upper:]][[:lower:]]*" "HelloWorldFoo" 2 }}|{{ regexMatch "^\\\\pL+$" "héllo" }}|{{ regexMatch "a{2}" "aa" }}',
    '{{ regexSplit "," "a,b,c" 2 }}|{{ regexSplit "," "a,b,c" 0 }}|{{ regexFindAll "a" "aaa" 0 }}',
    '{{ semverCompare ">= 1.2.3" "1.2.3" }}|{{ semverCompare "=1.2.3" "v1.2.3" }}|{{ semverCompare "~1.2.3" "1.2.9" }}|{{ semverCompare "~1" "1.9.0" }}|{{ semverCompare "^0.0.3" "0.0.4" }}|{{ semverCompare "^0" "0.9.0" }}',
    '{{ semverCompare "<=1.2" "1.2.9" }}|{{ semverCompare ">1.2" "1.3.0" }}|{{ semverCompare ">1.2" "1.2.5" }}|{{ semverCompare "!=1.x" "1.2.0" }}|{{ semverCompare "1.2 - 1.4.5" "1.4.6" }}|{{ semverCompare "x" "1.0.0-alpha" }}',
    '{{ dict "b" 2 "a" 1 | toJson }}|{{ list (dict "z" 1) | toPrettyJson }}',
    '{{ toPrettyJson (dict "a" (list) "b" (dict) "c" (list 1 (list 2))) }}',
    '{{ mustToJson .m }}|{{ mustToPrettyJson .l }}|{{ mustToRawJson .html }}',
    '{{ pluck "a" .m .em }}|{{ keys .em }}|{{ values .em }}|{{ pick .m }}|{{ omit .m }}',
    '{{ dig "c" "d" "x" (dict "c" .nil) }}',
    '{{ sortAlpha (list "b" 1 "A" .nil "a") }}|{{ uniq (list .m .m .l) }}|{{ without (list 1 "1" .n) .n }}',
    '{{ chunk 0 .el }}|{{ chunk -1 .nums }}',
    '{{ untilStep 0 5 0 }}|{{ until .n | len }}',
    '{{ date "2006" .n }}|{{ date "2006-01-02" "2024" | len }}',
    '{{ toDate "2006-01-02 MST" "2024-02-03 PST" }}|{{ toDate "2006-01-02 -0700" "2024-02-03 +0530" }}|{{ toDate "2006-01-02Z07:00" "2024-02-03Z" }}',
    '{{ toDate "15:04" "10:30" | date "15:04" }}|{{ toDate "2006-002" "2024-060" }}|{{ mustToDate "2006-01-02 15:04" "2024-02-03 25:00" }}',
    '{{ mustToDate "Jan 2" "Foo 2" }}|{{ mustToDate "2006-01-02" "2024-1-02" }}',
    '{{ dateModify "-24h" (toDate "2006-01-02" "2024-03-01") | date "2006-01-02" }}|{{ dateModify "90m1.5s" (toDate "2006-01-02" "2024-03-01") }}',
    '{{ typeOf (list) }}|{{ typeOf (dict) }}|{{ typeOf (addf 1 1) }}|{{ kindOf (dict) }}|{{ semver "1.2.3" | toJson }}',
    # nil slices (JSON null), clamped Atoi/ParseInt, time parse error positions
    '{{ list | toJson }}|{{ rest (list 1) | toJson }}|{{ rest .el | toJson }}|{{ initial .el | toJson }}|{{ concat | toJson }}|{{ concat .el | toJson }}|{{ regexFindAll "z" "a" -1 | toJson }}|{{ regexSplit "a" "b" 0 | toJson }}',
    '{{ list }}|{{ rest .el }}|{{ concat }}|{{ regexFindAll "z" "a" -1 }}|{{ len (list) }}|{{ tuple | toJson }}',
    '{{ duration "9223372036854775808" }}|{{ duration "-99999999999999999999" }}',
    '{{ mustToDate "2006-01-02 15:04:05.000" "2024-02-03 04:05:06.5 +0100 CET" }}',
    '{{ mustToDate "2006-01-02" "4:05:06 pm" }}',
    '{{ atoi "-9223372036854775809" }}|{{ atoi "99999999999999999999" }}|{{ atoi "1e3" }}',
    '{{ mustToDate "2006-01-02T15:04:05Z07:00" "03/02/24 4:05PM" }}',
    '{{ mustToDate "Mon, 02 Jan 2006 15:04:05 MST" "Sat, 03 Feb 2024 04:05:06 PST" | date "2006-01-02 15:04 MST -0700" }}',
    '{{ mustToDate "2006-01-02 15:04:05.999999999 -0700 MST" "2024-02-03 04:05:06.5 +0100 CET" }}',
    '{{ mustToDate "3:04:05 pm" "4:05:06 xm" }}|{{ mustToDate "2006-01-02 15:04" "2024-02-03 24:00" }}',
    '{{ toDate "20060102150405" "20240203040506" | unixEpoch }}',
    # Go int vs int64 (values_model.Int64)
    '{{ typeOf (add 1 1) }}|{{ kindOf (add1 1) }}|{{ typeOf (int 1) }}|{{ typeOf (max 1) }}|{{ duration 90 }}|{{ durationRound 90 }}|{{ typeOf (until 2 | first) }}',
    '{{ deepEqual (add 1 0) 1 }}|{{ deepEqual (add 1 0) (add1 0) }}|{{ has 1 (list (add 1 0)) }}|{{ toJson (add 1 1) }}',
    # RE2 syntax: negated classes, repetition errors, duplicate/odd capture names, octal, (?U)
    '{{ regexFindAll "[[:^digit:]]+" "ab12c٣" -1 }}|{{ regexFindAll "[^a[:^digit:]]" "a1b2" -1 }}|{{ regexFindAll "[\\\\D]+" "a1٣" -1 }}|{{ regexMatch "^*a" "a" }}',
    '{{ mustRegexMatch "a*?+?" "a" }}',
    '{{ mustRegexMatch "a{2}{3}" "a" }}',
    '{{ mustRegexMatch "(?i)*" "a" }}',
    '{{ mustRegexMatch "a{1001}" "a" }}',
    '{{ regexReplaceAll "(?P<x>a)|(?P<x>b)" "ab" "[$x]" }}|{{ regexReplaceAll "(?P<1a>a)" "a" "[$1a]" }}',
    '{{ mustRegexMatch "(?P<>a)" "a" }}',
    '{{ mustRegexMatch "\\\\8" "a" }}',
    '{{ regexFindAll "\\\\012" "a\\nb" -1 }}|{{ regexFindAll "(?s:.)" "a\\n" -1 }}|{{ regexFindAll "(?U)a+" "aa" -1 | len }}',
    # Go 1.19 time.Parse corner cases
    '{{ mustToDate "January04,000000200615" "January44,000001803823" | date "2006-01-02 15:04:05" }}',
    '{{ mustToDate "-07:00MonMST20062" "+11:00Sun+11202427" }}',
    '{{ mustToDate "2:__25" "31:3650" }}',
    '{{ mustToDate "4200606pm.000" "0202424am.000" }}',
    '{{ mustToDate "2006-002" "2024-060" | date "2006-01-02" }}|{{ mustToDate "2006-002" "2023-060" | date "2006-01-02" }}|{{ mustToDate "2006-01-002" "2024-03-061" | date "Jan 2" }}',
    '{{ mustToDate "2006-002" "2023-366" }}',
    '{{ mustToDate "2006-01-02 15:04:05.9" "2024-02-03 04:05:06.1234567891" }}',
    '{{ mustToDate "2006-01-02 MST" "2024-02-03 GMT+3" | date "15:04 MST -0700" }}|{{ mustToDate "2006-01-02 MST" "2024-02-03 CEST" | date "MST -0700" }}',
    # os.ExpandEnv, env, DNS (same environment on both sides)
    '{{ expandenv "a $HOME b ${HOME} c $ d ${ e ${} f $1 g $-x h $$ i ${HOME:-x} j $@ k ${*} l $HOME_X m ${HOME" }}',
    '{{ env "HOME" }}|{{ env "NOPE_NOT_SET" }}',
    '{{ getHostByName "localhost" | len | lt 3 }}',
]


def _data() -> object:
    return loads(DATA_JSON)


@pytest.fixture(scope="module")
def render():
    from utask.core.templating import render_template

    def do(tmpl: str) -> tuple[str | None, str | None]:
        try:
            return render_template(tmpl, _data()), None
        except Exception as exc:  # Go's error text
            return None, str(exc)

    return do


@pytest.mark.oracle
@pytest.mark.parametrize("tmpl", CASES)
def test_sprig_matches_go(tmpl: str, render, go_oracle: GoOracle) -> None:
    expected = go_oracle.render(tmpl, data_json=DATA_JSON)
    assert render(tmpl) == expected
