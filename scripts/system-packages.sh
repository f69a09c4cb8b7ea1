#!/usr/bin/env bash
# Installs the Debian packages a command needs when this machine lacks them, so the README's two
# commands work on a fresh machine with nothing else run first. Quiet when everything is there.
#
#   bash scripts/system-packages.sh server   # npm start: the PostgreSQL server and its OS user
#   bash scripts/system-packages.sh test     # npm test: the same, Chromium (the topology picture's test) and openssh-server (the test hosts)
#
# Installs as root, or through sudo when it needs no password; otherwise it names what to install
# and leaves the command to report what it cannot do without it.
set -euo pipefail
purpose="${1:-server}"

say() { echo "stagewise: $*" >&2; }

missing=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    missing+=(postgresql)
fi
if [ "$purpose" = test ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    missing+=(chromium)
fi
# The test hosts (scripts/test-hosts.sh) are network namespaces each running its own sshd.
if [ "$purpose" = test ] && [ ! -x /usr/sbin/sshd ]; then
    missing+=(openssh-server)
fi
# The servers run as an unprivileged user when deploying as root; Debian's postgresql package creates it.
need_user=0
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    need_user=1
fi
[ ${#missing[@]} -eq 0 ] && [ $need_user = 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then
    as_root() { "$@"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root() { sudo -n "$@"; }
else
    say "this machine lacks ${missing[*]:-the postgres OS user}: install ${missing[*]:-postgresql} (Debian/Ubuntu: sudo apt-get install ${missing[*]:-postgresql}) and run this again"
    exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "this machine lacks ${missing[*]} and has no apt-get: install them with its package manager"
        exit 0
    fi
    say "installing Debian packages: ${missing[*]} (first run only)..."
    started=$SECONDS
    # The package lists may be missing or stale on a fresh machine: refresh them once when an install fails.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    }
    say "installed ${missing[*]} in $((SECONDS - started))s"
fi
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
