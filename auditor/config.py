"""Settings: defaults, then a TOML file (`cro-audit.toml` or `[tool.cro-audit]` in pyproject.toml), then flags.

Every setting has one name used in all three places (dashes on the command line, underscores or dashes in TOML).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.facts import DEVICES

DEFAULT_USER_AGENT_TOKEN = "cro-audit"


class ConfigError(ValueError):
    """Broken configuration; the message names the file and the key."""


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
    select: list[str] = field(default_factory=list)  # rule id prefixes to run (empty: all)
    ignore: list[str] = field(default_factory=list)  # rule id prefixes to skip
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-rule threshold overrides
    branding: dict[str, str] = field(default_factory=dict)  # name, logo (path), accent
    headers: dict[str, str] = field(default_factory=dict)  # extra HTTP headers (e.g. staging auth); never reported

    def check(self) -> Settings:
        unknown = [d for d in self.devices if d not in DEVICES]
        if unknown or not self.devices:
            raise ConfigError(f"devices must be a non-empty list drawn from {', '.join(DEVICES)}; got {self.devices}")
        for name in ("max_pages", "concurrency"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', '-')} must be at least 1")
        for name in ("max_depth", "rate", "retries", "max_per_pattern"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name.replace('_', '-')} must not be negative")
        if self.timeout <= 0:
            raise ConfigError("timeout must be a positive number of seconds")
        if self.screenshots not in ("css", "device", "off"):
            raise ConfigError("screenshots must be one of css, device, off")
        if self.fail_under is not None and not 0 <= self.fail_under <= 100:
            raise ConfigError("fail-under must be a score between 0 and 100")
        return self

    def user_agent_token(self) -> str:
        return f"{DEFAULT_USER_AGENT_TOKEN}/{__version__}"

    def public(self) -> dict[str, Any]:
        """The settings worth recording in a report: no headers, paths or endpoints (they may hold secrets)."""
        return {
            "devices": self.devices,
            "max_pages": self.max_pages,
            "max_depth": self.max_depth,
            "timeout": self.timeout,
            "concurrency": self.concurrency,
            "respect_robots": self.respect_robots,
        }


_FIELD_TYPES = {f.name: f for f in fields(Settings)}


def find_config(start: Path) -> Path | None:
    """The nearest `cro-audit.toml`, or a `pyproject.toml` with a [tool.cro-audit] table, from start upwards."""
    for folder in [start, *start.parents]:
        own = folder / "cro-audit.toml"
        if own.is_file():
            return own
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "cro-audit" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None


def load_file(path: Path) -> dict[str, Any]:
    """The settings table of a config file, keys normalised to underscores and checked."""
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("cro-audit", {})
    table: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in _FIELD_TYPES:
            raise ConfigError(f"{path}: unknown setting {key!r}")
        table[name] = value
    return table


def build(file_values: dict[str, Any], flag_values: dict[str, Any]) -> Settings:
    """Defaults, overlaid by the file, overlaid by the flags that were given (None = not given)."""
    settings = Settings()
    for source in (file_values, {k: v for k, v in flag_values.items() if v is not None}):
        for name, value in source.items():
            default = getattr(settings, name)
            if isinstance(default, bool) and not isinstance(value, bool):
                raise ConfigError(f"{name.replace('_', '-')} must be true or false")
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{name.replace('_', '-')} must be a number, not {value!r}")
            if isinstance(default, list) and not isinstance(value, list):
                raise ConfigError(f"{name.replace('_', '-')} must be a list")
            if isinstance(default, dict) and not isinstance(value, dict):
                raise ConfigError(f"{name.replace('_', '-')} must be a table")
            setattr(settings, name, value)
    return settings.check()
