"""Multipart bodies as the official SDK flattens them, back into nested values."""

from __future__ import annotations

from troupe.api.forms import unflatten


def test_sdk_bracket_arrays_of_objects() -> None:
    items = [("prompt", "hi"), ("characters[][id]", "char_a"), ("characters[][id]", "char_b")]
    assert unflatten(items) == {"prompt": "hi", "characters": [{"id": "char_a"}, {"id": "char_b"}]}


def test_objects_with_several_keys_stay_together() -> None:
    items = [("a[][id]", "1"), ("a[][name]", "one"), ("a[][id]", "2")]
    assert unflatten(items) == {"a": [{"id": "1", "name": "one"}, {"id": "2"}]}


def test_nested_objects_and_indexed_arrays() -> None:
    items = [("video[id]", "video_1"), ("c[1][id]", "y"), ("c[0][id]", "x")]
    assert unflatten(items) == {"video": {"id": "video_1"}, "c": [{"id": "x"}, {"id": "y"}]}


def test_repeated_plain_keys_and_json_fields() -> None:
    items = [("character_ids", "a"), ("character_ids", "b"), ("characters", '[{"id": "c"}]')]
    assert unflatten(items) == {"character_ids": ["a", "b"], "characters": [{"id": "c"}]}


def test_text_that_only_looks_like_json_is_kept() -> None:
    assert unflatten([("prompt", "[draft] a cat")]) == {"prompt": "[draft] a cat"}


def test_unicode_digits_are_keys_not_indices() -> None:
    assert unflatten([("v", '{"\\u00b2": true}')]) == {"v": {"²": True}}
    assert unflatten([("a[٣]", "x")]) == {"a": {"٣": "x"}}
