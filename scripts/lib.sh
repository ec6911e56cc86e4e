# Shared by scripts/*: install what a fresh machine lacks, quietly and once.
# Sourced, not run.

WANGGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WANGGE_ROOT

log() { printf '\033[1m[wangge]\033[0m %s\n' "$*" >&2; }

_apt_updated=""
# need_apt CMD PACKAGE: installs the Debian package when CMD is missing.
need_apt() {
  local cmd="$1" pkg="$2"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  log "installing $pkg (for $cmd)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ -z "$_apt_updated" ]; then
    $sudo apt-get update -qq >/dev/null
    _apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >/dev/null
}

# need_rust: cargo must exist; we cannot install a toolchain here.
need_rust() {
  command -v cargo >/dev/null 2>&1 || { log "cargo is missing: install Rust (rustup) first"; exit 1; }
}

# node_deps DIR: npm ci (or install) in DIR when its node_modules is stale.
node_deps() {
  local dir="$1"
  [ -f "$dir/package.json" ] || return 0
  command -v npm >/dev/null 2>&1 || need_apt npm npm
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "npm dependencies in ${dir#$WANGGE_ROOT/}"
    if [ -f "$dir/package-lock.json" ]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    else
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    fi
  fi
}

# python_venv REQUIREMENTS: prints the python of a venv that has them.
python_venv() {
  local req="$1" venv="${WANGGE_VENV:-$HOME/.cache/wangge/venv}"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2 || { need_apt python3-venv python3-venv; python3 -m venv "$venv" >&2; }
  fi
  local stamp="$venv/.req-$(sha256sum "$req" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    log "python dependencies from ${req#$WANGGE_ROOT/}"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
    touch "$stamp"
  fi
  echo "$venv/bin/python"
}
