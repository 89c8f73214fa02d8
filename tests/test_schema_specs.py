"""The schema's building blocks on their own: what each spec accepts, what it returns, and the one
message it gives for each mistake, with the key path (pure)."""

from __future__ import annotations

import re

import pytest

from stack_program.schema import (Bool, ConfigError, Int, List, Map, Obj, OneOf, Problem, Str, config_leaves,
                                  is_secure, join)


def check(spec, value, path="k"):
    problems: list[Problem] = []
    out = spec.check(value, path, problems)
    return out, [str(p) for p in problems]


def test_str_rules_in_order():
    assert check(Str(), "x") == ("x", [])
    assert check(Str(), 5) == (None, ["k: expected a string, got a number"])
    assert check(Str(), "a\tb\nc") == ("a\tb\nc", [])
    assert check(Str(), "a\x1bb") == (None, ["k: expected printable text, got the control character U+001B at position 2"])
    assert check(Str(), "a\x85") == (None, ["k: expected printable text, got the control character U+0085 at position 2"])
    assert check(Str(), "\x7f") == (None, ["k: expected printable text, got the control character U+007F at position 1"])
    assert check(Str(), "\xa0") == ("\xa0", [])
    # The edges of the control ranges (C0 below space, DEL, C1 up to U+009F).
    for printable in (" ", "~", "\xa0", "\xa1"):
        assert check(Str(), printable) == (printable, []), repr(printable)
    for control in ("\x1f", "\x7f", "\x80", "\x9f"):
        assert check(Str(), control)[0] is None, repr(control)
    assert check(Str(choices=("alpha", "beta")), "alpah") == (None, ["k: 'alpah' is not one of 'alpha', 'beta' "
                                                                      "(did you mean 'alpha'?)"])
    assert check(Str(choices=("alpha",)), "zzz") == (None, ["k: 'zzz' is not one of 'alpha'"])
    assert check(Str(min_len=2, max_len=3), "a") == (None, ["k: expected 2-3 characters, got 1"])
    assert check(Str(min_len=2, max_len=3), "abcd") == (None, ["k: expected 2-3 characters, got 4"])
    assert check(Str(min_len=2, max_len=3), "abc") == ("abc", [])
    assert check(Str(min_len=2), "a") == (None, ["k: expected at least 2 characters, got 1"])
    digits = Str(pattern=re.compile(r"^\d+$"), expected="digits")
    assert check(digits, "12") == ("12", [])
    assert check(digits, "1a") == (None, ["k: '1a' is not digits"])
    assert check(digits, "x" * 81)[1] == [f"k: '{'x' * 80}…' (81 characters) is not digits"]
    assert check(Str(extra=lambda v: "too loud" if v.isupper() else None), "AB") == (None, ["k: too loud"])
    assert check(Str(extra=lambda v: None), "AB") == ("AB", [])
    assert Str().description == "a string" and Str(expected="an id").description == "an id"


def test_int_and_bool():
    assert check(Int(minimum=1, maximum=3), 3) == (3, [])
    assert check(Int(minimum=1, maximum=3), 4) == (None, ["k: expected a whole number from 1 to 3, got 4"])
    assert check(Int(minimum=1), 0) == (None, ["k: expected a whole number of at least 1, got 0"])
    assert check(Int(maximum=3), 4) == (None, ["k: expected a whole number, got 4"])
    assert check(Int(), 1.5) == (None, ["k: expected a whole number, got the fraction 1.5"])
    assert check(Int(), 2.0) == (None, ["k: expected a whole number, got the decimal 2.0"])
    assert check(Int(), float("inf")) == (None, ["k: expected a whole number, got a number that is not finite "
                                                  "(.inf, .nan, or too large)"])
    assert check(Int(), True) == (None, ["k: expected a whole number, got a boolean"])
    assert check(Int(allowed=lambda v: v % 2 == 0, expected="an even number"), 3) == \
        (None, ["k: expected an even number, got 3"])
    assert check(Bool(), False) == (False, [])
    assert check(Bool(), None) == (None, ["k: expected true or false, got nothing"])
    assert check(Bool(), "Off") == (None, ["k: expected true or false, got the string 'Off' (YAML 1.2, which Pulumi "
                                           "reads, has only true and false)"])
    assert check(Bool(), "true") == (None, ["k: expected true or false, got a string"])


def test_list_and_map():
    names = List(Str(), min_items=1, unique=True)
    assert check(names, ["a", "b"]) == (["a", "b"], [])
    assert check(names, []) == (None, ["k: expected at least 1 item, got 0"])
    assert check(List(Str(), min_items=2), ["a"]) == (None, ["k: expected at least 2 items, got 1"])
    assert check(names, "a") == (None, ["k: expected a list of a string, got a string"])
    assert check(names, ["a", "b", "a"]) == (["a", "b", "a"], ["k[2]: duplicate entry 'a'"])
    assert check(List(Str()), ["a", "a"]) == (["a", "a"], [])
    assert check(names, ["a", 1])[1] == ["k[1]: expected a string, got a number"]
    tags = Map(value=Str(), key=Str(pattern=re.compile("^[a-z]+$"), expected="lower case"), min_items=1)
    assert check(tags, {"a": "1"}) == ({"a": "1"}, [])
    assert check(tags, None)[1] == ["k: expected at least 1 entry, got 0"]
    assert check(Map(value=Str(), min_items=2), {"a": "1"})[1] == ["k: expected at least 2 entries, got 1"]
    assert check(tags, [])[1] == ["k: expected a map of lower case to a string, got a list"]
    assert check(tags, {"A": "1", "b": 2}) == ({"b": None}, ["k.A: 'A' is not lower case",
                                                               "k.b: expected a string, got a number"])
    assert check(Map(value=Str()), {1: "x"}) == ({1: "x"}, [])
    assert check(Map(value=Str()), {}) == ({}, []) and check(Map(value=Str()), None) == ({}, [])
    assert check(List(Str()), []) == ([], [])


def test_obj_and_one_of():
    obj = Obj({"name": Str(), "size": Int()}, required=("name",), defaults={"size": 1}, expected="a thing")
    assert check(obj, {"name": "n"}) == ({"name": "n", "size": 1}, [])
    assert check(obj, {"name": "n", "size": "x"}) == ({"name": "n", "size": 1},
                                                      ["k.size: expected a whole number, got a string"])
    assert check(obj, {"nam": "n"})[1] == ["k.nam: unknown key (did you mean 'name'?)", "k.name: is required (a string)"]
    assert check(obj, {"name": "n", "zzz": 1})[1] == ["k.zzz: unknown key (expected one of: name, size)"]
    assert check(obj, "x") == (None, ["k: expected a thing, got a string"])
    calls = Obj({"n": Int()}, defaults={"n": lambda: 7})
    assert check(calls, {}) == ({"n": 7}, [])
    kinds = OneOf("type", {"a": Obj({"x": Int()}), "b": Obj({"y": Int()})})
    assert check(kinds, {"type": "a", "x": 1}) == ({"x": 1, "type": "a"}, [])
    assert check(kinds, {"x": 1}) == (None, ["k.type: is required (one of 'a', 'b')"])
    assert check(kinds, {"type": "c"}) == (None, ["k.type: 'c' is not one of 'a', 'b'"])
    assert check(kinds, {"type": "a", "y": 1})[1] == ["k.y: unknown key (expected one of: x)"]
    assert check(kinds, ["a"]) == (None, ["k: expected a map with 'type' one of a, b, got a list"])


def test_paths_leaves_and_the_error_text():
    assert (join("", "a"), join("a", "b"), join("a", 0)) == ("a", "a.b", "a[0]")
    assert is_secure({"secure": "v1:x"}) and not is_secure({"secure": "v1:x", "other": 1}) and not is_secure("x")
    leaves = dict(config_leaves({"a": {"b": [1, {"secure": "c"}]}, "d": None}))
    assert leaves == {"a.b[0]": 1, "a.b[1]": {"secure": "c"}, "d": None}
    one = ConfigError([Problem("a", "bad")], "stacks/Pulumi.dev.yaml")
    assert str(one) == "invalid config in stacks/Pulumi.dev.yaml (1 problem):\n  - a: bad"
    two = ConfigError([Problem("a", "bad"), Problem("b", "worse")])
    assert str(two) == "invalid config (2 problems):\n  - a: bad\n  - b: worse"
    assert two.problems[1].path == "b" and one.source == "stacks/Pulumi.dev.yaml"


@pytest.mark.parametrize("value, name", [(None, "nothing"), ([], "a list"), ({}, "a map"), (1, "a number"),
                                        ("s", "a string"), (True, "a boolean"), (b"x", "bytes")])
def test_type_names(value, name):
    assert check(Obj({}), value)[1] == ([] if value == {} else [f"k: expected a map, got {name}"])


def test_a_unique_list_reports_repeated_strings_and_numbers():
    assert check(List(Str(), unique=True), ["a", "b", "a"])[1] == ["k[2]: duplicate entry 'a'"]
    assert check(List(Int(), unique=True), [1, 2, 1])[1] == ["k[2]: duplicate entry '1'"]
    assert check(List(Str()), ["a", "a"])[1] == []


def test_a_list_or_map_may_be_empty_unless_it_asks_for_items():
    assert check(List(Str()), []) == ([], [])
    assert check(List(Str(), min_items=1), [])[1] != []
    assert check(Map(value=Str()), {}) == ({}, [])


def test_a_user_string_is_quoted_whole_up_to_80_characters():
    from stack_program.schema import _shown

    assert _shown("x" * 80) == "'" + "x" * 80 + "'"
    assert _shown("x" * 81) == "'" + "x" * 80 + "…' (81 characters)"


@pytest.mark.parametrize("value, name", [(True, "a boolean"), (5, "a number"), ("s", "a string"), ([], "a list"),
                                         ({}, "a map"), (2.0, "the decimal 2.0"), (None, "nothing")])
def test_a_wrong_type_is_named_in_words(value, name):
    from stack_program.schema import _type_name

    assert _type_name(value) == name


def test_a_bad_value_with_a_default_does_not_hide_the_next_keys_problems():
    spec = Obj({"a": Int(), "b": Int(), "c": Str()}, defaults={"a": 1}, expected="x")
    assert check(spec, {"a": "one", "b": "two", "c": "ok"})[1] == [
        "k.a: expected a whole number, got a string", "k.b: expected a whole number, got a string"]


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "Yes", "OFF"])
def test_yaml_1_1_booleans_are_explained(word):
    assert check(Bool(), word)[1] == [f"k: expected true or false, got the string '{word}' (YAML 1.2, which Pulumi "
                                      "reads, has only true and false)"]


def test_an_unknown_key_does_not_hide_the_next_keys_problems():
    spec = Obj({"name": Str(), "size": Int()}, expected="x")
    assert check(spec, {"nmae": "a", "size": "big"})[1] == [
        "k.nmae: unknown key (did you mean 'name'?)", "k.size: expected a whole number, got a string"]
