"""Composing posts: text length as each network counts it, and checks against network limits.

* ``length``: ``count_text`` for every ``TextCounting``, ``twitter_weighted_length`` for X.
* ``twitter_text``: X's weighted length (twitter-text v3 rules: URLs, emoji, weights).
* ``validation``: ``validate_text`` and ``validate_media`` against a connector's ``Limits``.

Not a Django app (no models); see ``docs/composer-validation.md``.
"""
