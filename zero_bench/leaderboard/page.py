"""The static leaderboard page: one HTML file, inline CSS and JS, no network.  The template, style and script are
package data files in ``static/`` (``page.html`` with ``@@CSP@@``, ``@@STYLE@@``, ``@@DATA@@`` and ``@@SCRIPT@@``
placeholders, ``style.css``, ``script.js``), inlined by :mod:`zero_bench.leaderboard.build`.

Submitted text only ever reaches the page as JSON inside ``<script type="application/json">`` (with ``<``, ``>``
and ``&`` escaped) and is put into the DOM with ``textContent`` / ``setAttribute`` on fixed attribute names;
nothing uses ``innerHTML``.  A Content-Security-Policy allows only this page's own script and style (by hash),
so even an escaping bug could not run injected script.
"""

from importlib import resources


def _static(name: str) -> str:
    # read as bytes: text mode would translate line endings, and the script's hash is part of the page's CSP
    return resources.files("zero_bench.leaderboard").joinpath("static", name).read_bytes().decode("utf-8")


PAGE = _static("page.html")
STYLE = _static("style.css")
SCRIPT = _static("script.js")
