"""Settings: defaults, then a TOML file (`cro-audit.toml` or `[tool.cro-audit]` in pyproject.toml), then flags.

Every setting has one name used in all three places (dashes on the command line, underscores or dashes in TOML).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.facts import DEVICES

DEFAULT_USER_AGENT_TOKEN = "cro-audit"


class ConfigError(ValueError):
    """Broken configuration; the message names the file and the key."""


MAX_TIMEOUT = 600  # seconds per page
MAX_CONCURRENCY = 32  # pages at once per browser: past this a browser measures its own load, not the site's


def overloaded(concurrency: int) -> bool:
    """Whether this many pages at once would crowd this machine's cores (a local browser): load times then
    measure the auditor's own contention and come out slower than visitors see them."""
    return concurrency > 2 * default_concurrency()


def default_concurrency() -> int:
    """Pages in flight at once. Most of a visit is waiting on the network, so twice the cores keeps them busy."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


@dataclass
class Settings:
    devices: list[str] = field(default_factory=lambda: list(DEVICES))
    max_pages: int = 20
    max_depth: int = 3
    timeout: float = 30.0
    concurrency: int = field(default_factory=default_concurrency)
    rate: float = 0.0  # page requests per second per host; 0 = no limit beyond robots.txt Crawl-delay
    retries: int = 2
    max_per_pattern: int = 25  # pages sharing one URL shape or query parameter (crawl-trap guard)
    respect_robots: bool = True
    sitemaps: bool = True
    user_agent: str = ""  # empty: the browser's own, with the auditor's token appended
    screenshots: str = "css"  # css | device | off
    browser_path: str | None = None
    browser_endpoints: list[str] = field(default_factory=list)
    fail_under: float | None = None
    fail_on_broken: bool = False  # exit 1 when a page is broken for a visitor (BROKEN_KINDS)
    fail_on_drop: float | None = None  # exit 1 when the score fell more than this since the previous audit
    throttle: bool = False  # measure over a visitor's connection (browser.THROTTLED), not the machine's
    warm_cache: bool = False  # pages after the start page measured with its files cached (measure.Tab.prime)
    junit: bool = False  # also write junit.xml: a test case per rule and page, for CI test reports
    pdf: bool = False  # also print the HTML report to report.pdf, for clients who read documents
    select: list[str] = field(default_factory=list)  # rule id prefixes to run (empty: all)
    ignore: list[str] = field(default_factory=list)  # rule id prefixes to skip
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-rule threshold overrides
    branding: dict[str, str] = field(default_factory=dict)  # name, logo (path), accent
    client: str | None = None  # who the report is for ("Prepared for ..."); a batch's sites file names each site's
    headers: dict[str, str] = field(default_factory=dict)  # extra HTTP headers on every request; never reported
    auth: str | None = None  # "user:password" for HTTP auth on the audited site only; never reported

    def check(self) -> Settings:
        self.devices = list(dict.fromkeys(self.devices))  # --devices mobile,mobile is one mobile pass
        unknown = [d for d in self.devices if d not in DEVICES]
        if unknown:
            raise ConfigError(f"devices names an unknown device, {unknown[0]!r} (the devices are {', '.join(DEVICES)})")
        if not self.devices:
            raise ConfigError(f"devices must name at least one of {', '.join(DEVICES)}")
        for name in ("max_pages", "concurrency", "max_per_pattern"):  # 0 pages per pattern would audit the start only
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1, not {_number(getattr(self, name))}")
        for name in ("max_depth", "rate", "retries"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name.replace('_', '-')} must be 0 or more, not {_number(getattr(self, name))}")
        if self.timeout <= 0:
            raise ConfigError(f"timeout must be a positive number of seconds, not {_number(self.timeout)}")
        if self.timeout > MAX_TIMEOUT:
            raise ConfigError(f"timeout must be at most {MAX_TIMEOUT} seconds, not {_number(self.timeout)}: a page "
                              "that takes longer is broken for every visitor")
        if self.concurrency > MAX_CONCURRENCY:
            raise ConfigError(f"concurrency must be at most {MAX_CONCURRENCY}, not {self.concurrency} (pages at once per browser; more "
                              f"browsers with --browser-endpoint spread more)")
        if self.screenshots not in ("css", "device", "off"):
            raise ConfigError(f"screenshots must be one of css, device, off, not {toml_text(self.screenshots)}")
        for name, value in self.headers.items():  # values may be secrets: never repeated in a message
            if not _HEADER_NAME.fullmatch(name):
                raise ConfigError(f"header name {name[:40]!r} is not a valid HTTP header name")
            if name.lower() in _BROWSER_HEADERS:
                raise ConfigError(f"header {name} is set by the browser and cannot be replaced")
            if any(c in value for c in "\r\n\0"):
                raise ConfigError(f"the value of header {name} contains a line break")
        if self.auth is not None and ":" not in self.auth:
            raise ConfigError("auth must be 'user:password'")
        if self.client is not None:
            self.client = check_client(self.client)
        if self.fail_under is not None and not 0 <= self.fail_under <= 100:
            raise ConfigError(f"fail-under must be a score between 0 and 100, not {_number(self.fail_under)}")
        if self.fail_on_drop is not None and not 0 <= self.fail_on_drop <= 100:
            raise ConfigError(f"fail-on-drop must be a number of points between 0 and 100, not {_number(self.fail_on_drop)}")
        return self

    def user_agent_token(self) -> str:
        return f"{DEFAULT_USER_AGENT_TOKEN}/{__version__}"

    def public(self) -> dict[str, Any]:
        """The settings that shaped the result, for the report: never headers, auth, paths or endpoints
        (they may hold secrets)."""
        return {
            "devices": self.devices,
            "max_pages": self.max_pages,
            "max_depth": self.max_depth,
            "timeout": self.timeout,
            "concurrency": self.concurrency,
            "respect_robots": self.respect_robots,
            "rate": self.rate,
            "screenshots": self.screenshots,
            "throttle": self.throttle,
            "warm_cache": self.warm_cache,
            "select": self.select,
            "ignore": self.ignore,
            "thresholds": self.rules,
        }


_FIELD_TYPES = {f.name: f for f in fields(Settings)}
# Keys a user may try, from a flag's name: what to write instead.
_KEY_HINTS = {
    "tool": " (in cro-audit.toml the settings sit at the top level, without [tool.cro-audit])",
    "header": " (the key is a [headers] table: Name = \"value\")",
    "browser_endpoint": " (the key is browser-endpoints, a list)",
    "no_robots": " (the key is respect-robots = false)",
    "out": " (--out belongs to a run, not to the config: give it on the command line)",
    "quiet": " (--quiet belongs to a run, not to the config)",
    "resume": " (--resume belongs to a run, not to the config)",
    "config": " (a config file cannot name another)",
}


def find_config(start: Path) -> Path | None:
    """The nearest `cro-audit.toml`, or a `pyproject.toml` with a [tool.cro-audit] table, from start upwards."""
    for folder in [start, *start.parents]:
        own = folder / "cro-audit.toml"
        if own.is_file():
            return own
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            tools = _read_toml(pyproject).get("tool", {})
            if "cro-audit" in tools:
                return pyproject
            if "cro_audit" in tools or "croaudit" in tools:  # silently ignored, the settings would surprise
                name = "cro_audit" if "cro_audit" in tools else "croaudit"
                raise ConfigError(f"{pyproject}: the table is [tool.cro-audit], with a hyphen, not [tool.{name}]")
    return None


def unreadable(path: Path, exc: OSError, kind: str = "file") -> str:
    """Why a file cannot be read, as a person says it: 'sites.txt: no such file', not Python's
    'cannot be read ([Errno 2] No such file or directory: 'sites.txt')'."""
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):  # sites.txt/x: no such file either
        return f"{path}: no such {kind}"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a folder, not a {kind}"
    if isinstance(exc, PermissionError):
        return f"{path}: cannot be read: permission denied"
    return f"{path}: cannot be read: {exc.strerror or exc}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: a BOM (Notepad) is not TOML's
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({_toml_problem(str(exc), text)})") from None
    except OSError as exc:
        raise ConfigError(unreadable(path, exc, "config file")) from None
    except UnicodeDecodeError as exc:  # Latin-1 from an old editor, or Notepad's "Unicode" (UTF-16)
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line}); "
                          "save it as UTF-8") from None


def _toml_problem(message: str, text: str) -> str:
    """tomllib's 'Cannot overwrite a value (at line 2, column 14)' names no key: the key set twice is named
    from its line (the key only: the value may be a secret, as a header's is)."""
    where = re.search(r"\(at (?:line (\d+), column \d+|end of document)\)$", message)
    declared = re.match(r"Cannot declare \((.*?),?\) twice", message)
    if where is None:
        return message
    line = int(where[1]) if where[1] else len(text.splitlines())
    if declared:
        return f"[{'.'.join(part.strip(chr(39)) for part in declared[1].split(', '))}] is declared twice, on line {line}"
    source = text.splitlines()[line - 1].strip() if line <= len(text.splitlines()) else ""
    if message.startswith("Cannot overwrite a value") and "=" in source and not source.startswith("["):
        return f"{source.split('=', 1)[0].strip()} is set twice, on line {line}; keep one"
    return message


def closest(word: str, choices: list[str]) -> str | None:
    """The choice a typo most likely meant (a config key, a flag), or None when none is close."""
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.75)
    return close[0] if close else None


def _close_key(name: str) -> str:
    """' (did you mean fail-under?)' for a typo, as a mistyped flag gets; nothing when no key is close."""
    close = closest(name, list(_FIELD_TYPES))
    return f" (did you mean {close.replace('_', '-')}?)" if close else ""


def load_file(path: Path) -> dict[str, Any]:
    """The settings table of a config file, keys normalised to underscores and checked."""
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("cro-audit", {})
    table: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in _FIELD_TYPES:
            raise ConfigError(f"{path}: unknown setting {key!r}{_KEY_HINTS.get(name) or _close_key(name)}")
        table[name] = value
    logo = table.get("branding", {}).get("logo") if isinstance(table.get("branding"), dict) else None
    if isinstance(logo, str) and not Path(logo).is_absolute():
        table["branding"] = {**table["branding"], "logo": str(path.parent / logo)}  # relative to the file
    return table


# What each setting must hold. "int" refuses 2.5; "number" takes both; lists and tables say what is inside.
_KINDS = {
    "devices": "strings", "max_pages": "int", "max_depth": "int", "timeout": "number", "concurrency": "int",
    "rate": "number", "retries": "int", "max_per_pattern": "int", "respect_robots": "bool", "sitemaps": "bool",
    "user_agent": "string", "screenshots": "string", "browser_path": "string", "browser_endpoints": "strings",
    "fail_under": "number", "fail_on_broken": "bool", "fail_on_drop": "number", "throttle": "bool", "warm_cache": "bool", "junit": "bool", "pdf": "bool", "select": "strings", "ignore": "strings", "rules": "rules", "branding": "branding",
    "headers": "string-table", "auth": "string", "client": "string",
}
BRANDING_KEYS = ("name", "logo", "accent")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
_BROWSER_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


def _check_kind(name: str, value: Any) -> Any:
    kind, label = _KINDS[name], name.replace("_", "-")
    ok = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),  # TOML has nan, inf
        "bool": lambda v: isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
        "strings": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
        "string-table": lambda v: isinstance(v, dict),
        "branding": lambda v: isinstance(v, dict),
        "rules": lambda v: isinstance(v, dict),
    }[kind](value)
    if not ok:
        secret = name in SECRET_SETTINGS  # the value may be a password: never repeated
        wanted = {
            "int": "a whole number", "number": "a number", "bool": "true or false", "string": "a string",
            "strings": f"a list of strings, like [{toml_text(value)}]" if isinstance(value, str) and not secret
            else "a list of strings",
            "string-table": f"a table, one Name = \"value\" line each under [{label}]",
            "branding": f"a table ([branding]) with keys {', '.join(BRANDING_KEYS)}",
            "rules": "a table of tables, like [rules.SPD001]",
        }[kind]
        raise ConfigError(f"{label} must be {wanted}" + ("" if secret else f", not {toml_text(value)}"))
    # Tables are checked key by key: a dump of the whole table would hide which one is wrong.
    for key, item in value.items() if isinstance(value, dict) else ():
        if kind == "branding" and key not in BRANDING_KEYS:
            raise ConfigError(f"unknown branding key {key!r} (the keys are {', '.join(BRANDING_KEYS)})")
        if kind == "branding" and not isinstance(item, str):
            raise ConfigError(f"branding {key} must be a string, not {toml_text(item)}")
        if kind == "string-table" and not isinstance(item, str):  # never the value: a header may hold a token
            raise ConfigError(f"the value of header {key} must be a string, like {key} = \"value\"")
        if kind == "rules" and not isinstance(item, dict):
            raise ConfigError(f"rules.{key} must be a table of thresholds, like [rules.{key}], not {toml_text(item)}")
    if name in ("select", "ignore"):  # like a linter: --select SPD,mob001
        value = [part.strip().upper() for item in value for part in item.split(",") if part.strip()]
    return value


_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
CLIENT_MAX = 80  # a name on a report's cover, not a paragraph


def check_client(name: str) -> str:
    """A client's name as it will head the report: one line, not empty, not a paragraph."""
    text = " ".join(name.split())
    if not text:
        raise ConfigError("client must be a name, not empty")
    if any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in text):  # bidi controls reorder a report
        raise ConfigError("client must be plain text, without control characters")
    if len(text) > CLIENT_MAX:
        raise ConfigError(f"client must be at most {CLIENT_MAX} characters, not {len(text)}")
    return text


SECRET_SETTINGS = ("auth", "headers", "browser_endpoints")  # their values are never repeated in a message


def toml_text(value: Any, limit: int = 100) -> str:
    """A value as TOML spells it (true, "text", [1, 2], {a = 1}), for messages: users write TOML, and Python's
    spelling (True, 'text', {'a': 1}) reads as a bug of the tool's own."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)  # a TOML basic string: double quotes, JSON's escapes
    elif isinstance(value, float) and not math.isfinite(value):
        text = "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    elif isinstance(value, list):
        text = "[" + ", ".join(toml_text(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        keys = [k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k, ensure_ascii=False) for k in value]
        text = "{" + ", ".join(f"{k} = {toml_text(v, limit)}" for k, v in zip(keys, value.values())) + "}"
    elif isinstance(value, (datetime.date, datetime.time)):  # datetime is a date too
        text = value.isoformat()
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _number(value: Any) -> str:
    """A number out of range, as it was typed: `--timeout 9999` is a float to the parser, but 'not 9999.0' is
    a number nobody wrote. (Where a whole number is asked for, _check_kind keeps 2.0: it is the problem.)"""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return toml_text(value)


def build(file_values: dict[str, Any], flag_values: dict[str, Any], source: Path | None = None) -> Settings:
    """Defaults, overlaid by the file, overlaid by the flags that were given (None = not given)."""
    settings = Settings()
    for origin, values in ((source, file_values), (None, {k: v for k, v in flag_values.items() if v is not None})):
        for name, value in values.items():
            try:
                setattr(settings, name, _check_kind(name, value))
            except ConfigError as exc:
                raise ConfigError(f"{origin}: {exc}" if origin else _flag_named(str(exc), flag_values)) from None
    try:
        return settings.check()
    except ConfigError as exc:
        if source and _from_file(file_values, flag_values, exc):
            raise ConfigError(f"{source}: {exc}") from None
        raise ConfigError(_flag_named(str(exc), flag_values)) from None


def _flag_named(message: str, flag_values: dict[str, Any]) -> str:
    """A flag's bad value, told by the flag the user typed: '--max-pages must be at least 1, not 0', not
    'max-pages ...', a key they may look for in a config file that has none."""
    for name, value in flag_values.items():
        key = name.replace("_", "-")
        if value is not None and message.startswith(f"{key} "):
            return f"--{message}"
    return message


def _from_file(file_values: dict[str, Any], flag_values: dict[str, Any], error: ConfigError) -> bool:
    """Whether the file alone holds the value that failed, so the message names the file; a flag's bad
    value blamed on the config file sends the user to fix a file that is fine."""
    if not file_values:
        return False
    return _fails_alone(file_values, error) and not _fails_alone(flag_values, error)


def _fails_alone(values: dict[str, Any], error: ConfigError) -> bool:
    """Whether these values over the defaults fail as `error` says: a bad value in both the file and a flag
    is the flag's, since the flag is what the run would use."""
    alone = Settings()
    try:
        for name, value in values.items():
            if value is not None:
                setattr(alone, name, _check_kind(name, value))
        alone.check()
    except ConfigError as exc:
        return str(exc) == str(error)
    return False
