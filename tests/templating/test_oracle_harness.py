from .go_oracle import GoOracle


def test_oracle_renders_exact_numbers_and_missing_keys(go_oracle: GoOracle) -> None:
    out, err = go_oracle.render("{{ .n }} {{ .missing }}", data_json='{"n": 1619464078}')
    assert (out, err) == ("1619464078 <no value>", None)


def test_oracle_reports_go_errors(go_oracle: GoOracle) -> None:
    out, err = go_oracle.render("{{ .a.b }}", {"a": 1})
    assert out is None
    assert err == 'template: tmpl:1:5: executing "tmpl" at <.a.b>: can\'t evaluate field b in type interface {}'
