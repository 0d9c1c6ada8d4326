"""The listening query language: parsing, the canonical form and precise syntax errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sokhan.listening.query import And, Field, Not, Or, QuerySyntaxError, Term, parse, terms

CHANNELS = ("telegram", "x", "mastodon")


def p(query: str) -> str:
    return str(parse(query, channels=CHANNELS))


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("apple", "apple"),
        ("apple pie", "apple AND pie"),  # implicit AND
        ("apple AND pie", "apple AND pie"),
        ("apple pie OR banana", "(apple AND pie) OR banana"),  # AND binds tighter than OR
        ("apple OR banana pie", "apple OR (banana AND pie)"),
        ("apple OR pie NOT banana", "apple OR (pie AND NOT banana)"),  # NOT binds tightest
        ("(apple OR pie) banana", "(apple OR pie) AND banana"),
        ("apple -pie -banana", "apple AND NOT pie AND NOT banana"),
        ("apple -(pie OR banana)", "apple AND NOT (pie OR banana)"),
        ("apple NOT NOT pie", "apple AND pie"),
        ("((apple))", "apple"),
        ("a (b c) d", "a AND b AND c AND d"),  # nested ANDs flatten
        ("a OR (b OR c)", "a OR b OR c"),
        ('"Apple  pie" OR «کتاب خانه» OR “dark mode”', '"Apple pie" OR "کتاب خانه" OR "dark mode"'),
        ('«he said "hi"»', '«he said "hi"»'),  # a phrase keeps the quotes it needs
        ("#Apple @Apple_IR lang:FA channel:Telegram", "#Apple AND @Apple_IR AND lang:fa AND channel:telegram"),
        ("apple lang:fa_IR", "apple AND lang:fa-ir"),
        ("and or not", "and AND or AND not"),  # only upper-case words are operators
        ("10:30 قیمت", "10:30 AND قیمت"),  # a colon after digits is not a field
        ("e-mail", "e-mail"),  # "-" only excludes at the start of a term
        ("ایران و کتاب", "ایران AND و AND کتاب"),  # «و» is a word, not an operator
    ],
)
def test_canonical_form(query: str, canonical: str) -> None:
    assert p(query) == canonical
    assert p(canonical) == canonical  # the canonical form is a fixed point


def test_ast_shape_and_positions() -> None:
    ast = parse("apple -pie OR #کتاب", channels=CHANNELS)
    assert ast == Or(
        (And((Term("word", "apple", "apple"), Not(Term("word", "pie", "pie")))), Term("hashtag", "#کتاب", "#کتاب"))
    )
    assert isinstance(ast, Or)
    first = ast.operands[0]
    assert isinstance(first, And)
    assert [first.start, first.operands[1].start, ast.operands[1].start] == [0, 6, 14]
    assert [term.text for term in terms(ast)] == ["apple", "pie", "#کتاب"]


def test_terms_compare_by_their_matching_form() -> None:
    # Arabic letter forms, digit scripts, ZWNJ, diacritics and case do not change a term.
    assert parse("كتابخانه") == parse("کتاب\u200cخانه") == parse("کِتابـخانه")
    assert parse("۱۴۰۴") == parse("1404") == parse("١٤٠٤")
    assert parse("APPLE") == parse("apple")
    assert parse("#Apple") == parse("#apple") != parse("apple")
    assert parse("@Sokhan") == parse("@sokhan")
    term = parse("كتاب")
    assert isinstance(term, Term) and str(term) == "كتاب" and term.key == "کتاب"  # shown as written


def test_fields_are_values_and_validated() -> None:
    assert parse("apple channel:x", channels=CHANNELS) == And((Term("word", "apple", "apple"), Field("channel", "x")))
    # Without an explicit list the registered connectors are the channels.
    assert str(parse("apple channel:bluesky")) == "apple AND channel:bluesky"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", 'Column 1: the query is empty; expected a word, "phrase", #hashtag or @account'),
        ("   ", 'Column 1: the query is empty; expected a word, "phrase", #hashtag or @account'),
        ("apple AND", 'Column 10: expected a term or "(" after AND, found end of query'),
        ("apple AND pie AND", 'Column 18: expected a term or "(" after AND, found end of query'),
        ("apple OR", 'Column 9: expected a term or "(" after OR, found end of query'),
        ("apple NOT", 'Column 10: expected a term or "(" after NOT, found end of query'),
        ("OR apple", 'Column 1: expected a term or "(", found OR'),
        ("apple OR OR pie", 'Column 10: expected a term or "(" after OR, found OR'),
        ("apple AND OR pie", 'Column 11: expected a term or "(" after AND, found OR'),
        ("(apple OR pie", 'Column 14: expected ")" to close the "(" at column 1, found end of query'),
        ("((apple) pie", 'Column 13: expected ")" to close the "(" at column 1, found end of query'),
        ("apple) pie", "Column 6: “)” closes no open “(”"),
        ("apple ()", 'Column 8: expected a term inside "(" and ")", found “)”'),
        ('apple "pie', 'Column 11: expected " to close the phrase opened at column 7, found end of query'),
        ("«کتاب", "Column 6: expected » to close the phrase opened at column 1, found end of query"),
        ('apple "" pie', 'Column 7: expected a phrase with some text in it, found an empty phrase ""'),
        ("apple - pie", 'Column 8: expected a term right after "-" (no space), found “ ”'),
        ("apple -", 'Column 8: expected a term right after "-" (no space), found end of query'),
        ("# apple", "Column 2: expected the hashtag's text after #, found “ ”"),
        ("#apple!", "Column 7: a hashtag is made of letters, digits and _; found “!” in #apple!…"),
        ("@", "Column 2: expected an account name after @ (Latin letters, digits, _ . -), found end of query"),
        ("@کتاب", "Column 2: expected an account name after @ (Latin letters, digits, _ . -), found “ک”"),
        (
            "@apple!",
            "Column 7: an account name is made of Latin letters, digits, _, . and -; found “!” in @apple!…",
        ),
        (
            "apple https://x.com",
            "Column 7: unknown field “https:”; the fields are channel: and lang: "
            '(to search for the text, put it in quotes: "https://x.com")',
        ),
        ("apple lang:", "Column 12: expected a language code such as fa or en after lang:, found nothing"),
        ("apple lang:persian", "Column 12: expected a language code such as fa or en after lang:, found “persian”"),
        (
            "apple channel:telgram",
            "Column 15: expected a channel after channel: (mastodon, telegram, x), found “telgram”",
        ),
        ("ـــ", "Column 1: “ـــ” has no letters or digits to match"),
        # Queries that could match a post in which none of their words occur.
        (
            "NOT apple",
            'Column 1: the query needs a word, "phrase", #hashtag or @account that must appear; '
            "“NOT apple” only excludes (e.g. apple NOT apple)",
        ),
        (
            "-apple -pie",
            'Column 1: the query needs a word, "phrase", #hashtag or @account that must appear; '
            "“NOT apple” only excludes (e.g. apple NOT apple)",
        ),
        (
            "lang:fa",
            'Column 1: the query needs a word, "phrase", #hashtag or @account that must appear; '
            "“lang:fa” only narrows a search (e.g. apple lang:fa)",
        ),
        (
            "apple OR -pie",
            'Column 10: every OR alternative needs a word, "phrase", #hashtag or @account that must appear; '
            "“NOT pie” would match posts without any of them",
        ),
        (
            "(apple pie) OR (lang:fa -x)",
            'Column 17: every OR alternative needs a word, "phrase", #hashtag or @account that must appear; '
            "“lang:fa AND NOT x” would match posts without any of them",
        ),
        (
            "NOT (apple AND pie) OR x",
            'Column 1: every OR alternative needs a word, "phrase", #hashtag or @account that must appear; '
            "“NOT (apple AND pie)” would match posts without any of them",
        ),
    ],
)
def test_syntax_errors_are_precise(query: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query, channels=CHANNELS)
    assert str(caught.value) == message
    assert caught.value.column == caught.value.position + 1


def test_error_fields() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse("apple AND")
    error = caught.value
    assert (error.position, error.column, error.found) == (9, 10, "end of query")
    assert error.expected == 'a term or "(" after AND'


def test_excluded_words_inside_a_required_group_are_fine() -> None:
    assert p("(apple OR NOT pie) banana") == "(apple OR NOT pie) AND banana"
    assert p("apple (lang:fa OR channel:x)") == "apple AND (lang:fa OR channel:x)"


def test_limits() -> None:
    with pytest.raises(QuerySyntaxError, match="parentheses nest more than 50 deep"):
        parse("(" * 51 + "a" + ")" * 51)
    assert p("(" * 50 + "a" + ")" * 50) == "a"
    assert p("NOT " * 800 + "a") == "a"  # no recursion per NOT
    with pytest.raises(QuerySyntaxError, match=r"too long \(4,001 characters; at most 4,000\)"):
        parse("a" * 4001)


# --- property: the canonical form parses back to the same tree --------------------------------

WORDS = ["apple", "Pie", "کتاب", "كتابخانه", "۱۴۰۴", "c++", "e-mail", "#Apple", "#کتاب_خوانی", "@sokhan"]
PHRASES = ['"apple pie"', "«کتاب خانه»", "“dark mode”"]
FIELDS = ["lang:fa", "lang:en-us", "channel:telegram", "channel:x"]


def _trees() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(WORDS + PHRASES + FIELDS)

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda parts: "(" + " OR ".join(parts) + ")"),
            st.lists(children, min_size=2, max_size=3).map(lambda parts: "(" + " ".join(parts) + ")"),
            st.lists(children, min_size=2, max_size=3).map(lambda parts: "(" + " AND ".join(parts) + ")"),
            children.map(lambda child: f"NOT {child}"),
            children.map(lambda child: f"-{child}"),
        )

    return st.recursive(leaves, extend, max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees())
def test_canonical_form_round_trips(query: str) -> None:
    try:
        ast = parse(query, channels=CHANNELS)
    except QuerySyntaxError as error:
        assert "must appear" in str(error)  # the only way a generated query can be refused
        return
    assert parse(str(ast), channels=CHANNELS) == ast
    assert str(parse(str(ast), channels=CHANNELS)) == str(ast)
