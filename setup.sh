#!/usr/bin/env bash
# Sets up cro-audit in ./.venv and makes sure a Chromium is available.
#   ./setup.sh          the tool
#   ./setup.sh --test   the tool and what the test suite needs
# Browser: Playwright's own Chromium when it can be downloaded; otherwise the OS package
# (`apt-get install chromium` on Debian/Ubuntu, as root). Nothing is installed outside .venv but that package.
set -euo pipefail
cd "$(dirname "$0")"

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
if [ -t 2 ]; then say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }; else say() { printf 'setup: %s\n' "$*" >&2; }; fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  command -v apt-get >/dev/null || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
  { say "cro-audit needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)"; exit 2; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    say "python venv support is missing; installing python3-venv"
    apt_install python3-venv || { say "install your distribution's python3-venv package, then run again"; exit 2; }
    "$PYTHON" -m venv .venv
  fi
fi
say "installing Python packages"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
log=$(mktemp)
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}" >"$log" 2>&1; then
  grep -v '^WARNING: Location' "$log" >&2; rm -f "$log"
  say "the Python packages did not install (see the messages above)"; exit 2
fi
rm -f "$log"

# The test suite drives chromedriver as a stand-in WebDriver server; Debian's matches Debian's Chromium.
test_extras() {
  [ -n "$extras" ] || return 0
  command -v chromedriver >/dev/null && return 0
  command -v dpkg >/dev/null && dpkg -s chromium >/dev/null 2>&1 || return 0
  say "installing chromium-driver (for the test of WebDriver endpoints)"
  apt_install chromium-driver || say "chromium-driver did not install; that one test will be skipped"
}

if .venv/bin/cro-audit doctor >/dev/null 2>&1; then
  say "browser: $(.venv/bin/cro-audit doctor)"
  test_extras
  exit 0
fi
say "no usable Chromium yet; trying Playwright's build"
if timeout 900 .venv/bin/python -m playwright install chromium >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && .venv/bin/python -m playwright install-deps chromium >/dev/null 2>&1 || true
else
  say "Playwright's browser download is not reachable; installing the OS package (apt-get install chromium)"
  apt_install chromium || apt_install chromium-browser ||
    { say "could not install a browser: install Chrome or Chromium and set CRO_AUDIT_BROWSER=/path/to/it"; exit 2; }
fi
.venv/bin/cro-audit doctor >/dev/null 2>&1 ||
  { .venv/bin/cro-audit doctor || true; say "the browser did not start (see above)"; exit 2; }
say "browser: $(.venv/bin/cro-audit doctor)"
test_extras
