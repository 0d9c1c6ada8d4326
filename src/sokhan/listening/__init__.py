"""Listening: the query language and the matcher that runs every workspace's topics over posts.

``query.parse`` turns a query into an immutable AST (or a precise ``QuerySyntaxError``);
``matcher.Matcher`` matches many queries at once. See ``docs/listening.md``.
"""
