"""The built-in rules, one module per concern (category).

Each module declares its `Category` and its rules with `auditor.rulebook.rule`. A rule reads one device's
facts and nothing else; `cro-audit rules` lists them all. To write a rule, copy the smallest module here.
"""
