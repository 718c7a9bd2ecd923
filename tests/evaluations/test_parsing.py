"""CSV and JSONL labelled sets: every refusal kind, out-of-scope spellings, file-level errors."""

from __future__ import annotations

import json

import pytest

from analytics.evaluations.parsing import (
    MAX_SET_ROWS,
    LabelledFileError,
    labelled_file_parse,
    labelled_rows_check,
)
from routing.services.examples import MAX_EXAMPLE_CHARS

INTENTS = ["billing", "Refund_Not_Showing"]


def parse_csv(body: str):
    return labelled_file_parse(body.encode(), filename="set.csv", intent_names=INTENTS)


@pytest.mark.parametrize(
    ("text", "intent", "kind"),
    [
        ("charged twice", "shipping", "unknown_intent"),
        ("   ", "billing", "blank"),
        ("x" * (MAX_EXAMPLE_CHARS + 1), "billing", "too_long"),
        ("refund\x00please", "billing", "unstorable"),
        ("refund \ud800", "billing", "unstorable"),
        ("ok text", "bill\x00ing", "unstorable"),
        (12, "billing", "malformed"),
        ("ok text", ["billing"], "malformed"),
    ],
)
def test_each_refusal_kind_is_reported_with_its_line(text, intent, kind):
    result = labelled_rows_check([(7, text, intent)], intent_names=INTENTS)
    assert result.rows == []
    (refusal,) = result.refused
    assert (refusal.line, refusal.kind) == (7, kind)
    assert result.report()["by_kind"] == {kind: 1}
    assert result.report()["rows"][0]["reason"]


def test_duplicate_text_is_refused_after_its_first_row():
    result = labelled_rows_check(
        [(1, "charged twice", "billing"), (2, " charged twice ", "billing")], intent_names=INTENTS
    )
    assert [row.text for row in result.rows] == ["charged twice"]
    assert [(r.line, r.kind) for r in result.refused] == [(2, "duplicate")]


def test_text_at_the_example_limit_is_accepted():
    result = labelled_rows_check([(1, "x" * MAX_EXAMPLE_CHARS, "billing")], intent_names=INTENTS)
    assert len(result.rows) == 1


def test_rows_past_the_limit_are_refused_as_too_many():
    pairs = [(i, f"query {i}", "billing") for i in range(MAX_SET_ROWS + 2)]
    result = labelled_rows_check(pairs, intent_names=INTENTS)
    assert len(result.rows) == MAX_SET_ROWS
    assert result.report()["by_kind"] == {"too_many": 2}


@pytest.mark.parametrize("label", ["", "oos", "OOS", "  oos "])
def test_csv_empty_or_oos_intent_is_out_of_scope(label):
    result = parse_csv(f"text,intent\nwhat's the weather,{label}\n")
    assert [(row.text, row.intent) for row in result.rows] == [("what's the weather", None)]


def test_csv_intent_names_match_ignoring_case_and_keep_the_router_spelling():
    result = parse_csv('text,intent\n"refund, not showing",refund_not_showing\nbill me,BILLING\n')
    assert [(row.text, row.intent) for row in result.rows] == [
        ("refund, not showing", "Refund_Not_Showing"),
        ("bill me", "billing"),
    ]


def test_csv_columns_in_any_order_with_a_bom():
    result = labelled_file_parse(
        "\ufeffintent,text\nbilling,charged twice\n".encode(),
        filename="x.csv",
        intent_names=INTENTS,
    )
    assert [(row.text, row.intent) for row in result.rows] == [("charged twice", "billing")]


def test_csv_report_counts_lines_as_the_file_numbers_them():
    result = parse_csv("text,intent\ncharged twice,billing\nhello,nope\n,billing\n")
    assert [(r.line, r.kind) for r in result.refused] == [(3, "unknown_intent"), (4, "blank")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"query,label\nx,y\n", "header"),
        (b"text,intent\n\xff\xfe,billing\n", "UTF-8"),
    ],
)
def test_unreadable_files_say_what_to_fix(body, message):
    with pytest.raises(LabelledFileError, match=message):
        labelled_file_parse(body, filename="set.csv", intent_names=INTENTS)


def test_jsonl_null_intent_is_out_of_scope_and_bad_lines_are_malformed():
    lines = [
        json.dumps({"text": "charged twice", "intent": "billing"}),
        json.dumps({"text": "weather?", "intent": None}),
        json.dumps({"text": "no intent key"}),
        "not json",
        json.dumps(["text", "billing"]),
        "",
        json.dumps({"text": "bad \x00", "intent": "billing"}),
    ]
    result = labelled_file_parse(
        "\n".join(lines).encode(), filename="set.jsonl", intent_names=INTENTS
    )
    assert [(row.text, row.intent) for row in result.rows] == [
        ("charged twice", "billing"),
        ("weather?", None),
        ("no intent key", None),
    ]
    assert [(r.line, r.kind) for r in result.refused] == [
        (4, "malformed"),
        (5, "malformed"),
        (7, "unstorable"),
    ]
