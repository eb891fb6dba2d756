#!/usr/bin/env bash
# Installs the Debian packages the test suite uses (the stand-alone yara and clamscan tools
# for cross-checks, headless Chromium for the console tests, Redis and PostgreSQL for the
# scale-out tests). Skips what is already there; needs root (CI and these machines run as root).
set -euo pipefail
needed=()
command -v yara >/dev/null || needed+=(yara)
command -v chromium >/dev/null || needed+=(chromium)
command -v chromedriver >/dev/null || needed+=(chromium-driver)
command -v redis-server >/dev/null || needed+=(redis-server)
command -v clamscan >/dev/null || needed+=(clamav)
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || needed+=(postgresql)
command -v openssl >/dev/null || needed+=(openssl)
command -v curl >/dev/null || needed+=(curl)
if [ ${#needed[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${needed[*]} (run as root or install them)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
fi
