#!/usr/bin/env bash
# Install ridermap into ./.venv with everything it needs. Idempotent.
#   bash scripts/setup.sh            # the tool (+ poppler-utils for plate verification)
#   bash scripts/setup.sh --online   # also the optional extra for overpass: sources (osmnx, requests)
#   bash scripts/setup.sh --test     # also the test tools (they include the online extra) and Debian chromium
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
extras=()
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1; extras+=(test) ;;
    --online) extras+=(online) ;;
    *) echo "setup: unknown option $arg (use --online and/or --test)" >&2; exit 2 ;;
  esac
done

apt_pkgs=()
command -v pdftoppm >/dev/null || apt_pkgs+=(poppler-utils)
if [ "$want_test" = 1 ]; then
  [ -x /usr/bin/chromium ] || apt_pkgs+=(chromium)
  # a CJK font so screenshots of the site show Chinese, not boxes (phones have one)
  command -v fc-list >/dev/null && [ -n "$(fc-list :lang=zh 2>/dev/null)" ] || apt_pkgs+=(fonts-wqy-microhei)
fi
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: apt-get install ${apt_pkgs[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
  else
    echo "setup: please install ${apt_pkgs[*]} (Debian/Ubuntu: sudo apt-get install ${apt_pkgs[*]}); continuing" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
extra=""
[ ${#extras[@]} -gt 0 ] && extra="[$(IFS=,; echo "${extras[*]}")]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra}"
echo "setup: ridermap installed in .venv (run .venv/bin/ridermap --help)" >&2
