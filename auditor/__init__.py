"""cro-audit: find out why a website does not convert.

The pipeline, one module a step: `crawl` decides which URLs to visit, `browser` starts Chromium,
`measure` turns a rendered page into plain `facts`, the rules in `rules/` judge those facts, `score`
weighs the verdicts into scores and a PIE backlog, and `report` renders JSON and HTML. `cli` wires it up.
"""

__version__ = "0.1.0"
