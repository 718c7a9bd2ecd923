"""Reading outcome files: the three shapes, every refusal kind, and files refused whole."""

from __future__ import annotations

import json

import pytest

from analytics.outcomes.parsing import OutcomeFileError, outcome_file_parse, outcome_rows_check

TIERS = {"cheap", "strong"}


def test_csv_with_good_and_score_columns():
    raw = b"query,tier,good,score\nwhat is 2+2,cheap,yes,\nprove it,strong,,0.25\nhi,cheap,0,\n"
    parse = outcome_file_parse(raw, tiers=TIERS)
    assert parse.shape == "outcomes" and parse.refused == []
    assert [(r.query, r.tier, r.score, r.good) for r in parse.rows] == [
        ("what is 2+2", "cheap", 1.0, True),
        ("prove it", "strong", 0.25, None),
        ("hi", "cheap", 0.0, False),
    ]


def test_routellm_shape_maps_its_two_columns_to_the_chosen_tiers():
    raw = (
        b"benchmark,subset,prompt,mixtral_8x7b_correct,gpt4_1106_correct\n"
        b'mmlu,algebra,"Find x.\nA. 1\nB. 2",0,1\n'
        b"gsm8k,,How many apples?,1,1\n"
    )
    parse = outcome_file_parse(raw, tiers=TIERS, cheap_tier="cheap", strong_tier="strong")
    assert parse.shape == "routellm"
    assert [(r.query, r.tier, r.good) for r in parse.rows] == [
        ("Find x.\nA. 1\nB. 2", "cheap", False),
        ("Find x.\nA. 1\nB. 2", "strong", True),
        ("How many apples?", "cheap", True),
        ("How many apples?", "strong", True),
    ]


def test_routellm_shape_without_a_tier_for_each_column_is_refused_whole():
    raw = b"prompt,a_correct,b_correct\nq,1,0\n"
    with pytest.raises(OutcomeFileError, match="choose the tier of the first"):
        outcome_file_parse(raw, tiers=TIERS, cheap_tier="cheap")
    with pytest.raises(OutcomeFileError, match="'middle' is not one of this router's"):
        outcome_file_parse(raw, tiers=TIERS, cheap_tier="cheap", strong_tier="middle")


def test_jsonl_and_every_refusal_kind():
    lines = [
        {"query": "ok", "tier": "cheap", "good": True},
        {"query": "  ", "tier": "cheap", "good": True},
        {"query": "x" * 8001, "tier": "cheap", "good": True},
        {"query": "q", "tier": "middle", "good": True},
        {"query": "q", "tier": "cheap", "good": "maybe"},
        {"query": "q", "tier": "cheap", "score": 1.5},
        {"query": "q", "tier": "cheap"},
        {"query": "nul\x00", "tier": "cheap", "good": False},
    ]
    raw = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    parse = outcome_file_parse(raw.encode(), tiers=TIERS)
    assert len(parse.rows) == 1
    assert [(r.line, r.kind) for r in parse.refused] == [
        (2, "blank"),
        (3, "too_long"),
        (4, "unknown_tier"),
        (5, "bad_value"),
        (6, "bad_value"),
        (7, "bad_value"),
        (8, "unstorable"),
        (9, "malformed"),
    ]
    report = parse.report()
    assert report["by_kind"]["bad_value"] == 3
    assert report["rows"][0]["reason"] == "the query is blank"


def test_rows_past_the_limit_are_refused():
    items = [(i, {"query": f"q{i}", "tier": "cheap", "good": True}) for i in range(5)]
    parse = outcome_rows_check(items, tiers=TIERS, limit=3)
    assert len(parse.rows) == 3 and [r.kind for r in parse.refused] == ["too_many"] * 2


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"text,intent\nq,billing\n", "needs a header `query,tier,good`"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_files_that_cannot_be_read_are_refused_whole(raw, message):
    with pytest.raises(OutcomeFileError, match=message):
        outcome_file_parse(raw, tiers=TIERS)
