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

# need_apt_py MODULE PACKAGE: installs the Debian package when the system
# python3 cannot import MODULE (python3-qgis, which no venv can hold).
need_apt_py() {
  local module="$1" pkg="$2"
  /usr/bin/python3 -c "import $module" >/dev/null 2>&1 && return 0
  need_apt "/nonexistent/$pkg" "$pkg"
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

# need_postgis: a PostgreSQL server with PostGIS for the tests and benches;
# exports DATABASE_URL (a database where `CREATE EXTENSION postgis` is done).
#   1. $DATABASE_URL when set;
#   2. else a server on 127.0.0.1:${WANGGE_PG_PORT:-5432} (trust auth, user
#      postgres), database `test` created when missing;
#   3. else a throwaway cluster (initdb + pg_ctl) on a free port in a
#      temporary directory, stopped and removed when the script exits.
# Installs PostgreSQL and the PostGIS package of the server's major version
# from Debian when missing.
need_postgis() {
  need_apt psql postgresql-client
  local url port="${WANGGE_PG_PORT:-5432}"
  if [ -n "${DATABASE_URL:-}" ]; then
    url="$DATABASE_URL"
    psql "$url" -qAtc 'select 1' >/dev/null 2>&1 \
      || { log "DATABASE_URL is set but no PostgreSQL answers there"; return 1; }
  elif psql "postgres://postgres@127.0.0.1:$port/postgres" -qAtc 'select 1' >/dev/null 2>&1; then
    url="postgres://postgres@127.0.0.1:$port/test"
    psql "postgres://postgres@127.0.0.1:$port/postgres" -qAtc "select 1 from pg_database where datname = 'test'" | grep -q 1 \
      || psql "postgres://postgres@127.0.0.1:$port/postgres" -qc 'CREATE DATABASE test' >/dev/null
  else
    _pg_throwaway || return 1
    url="$DATABASE_URL"
  fi
  if ! psql "$url" -qAtc "select 1 from pg_available_extensions where name = 'postgis'" | grep -q 1; then
    local major
    major=$(psql "$url" -qAtc 'show server_version_num')
    major=$((major / 10000))
    log "installing PostGIS for PostgreSQL $major"
    _apt_install "postgresql-$major-postgis-3"
  fi
  psql "$url" -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION IF NOT EXISTS postgis' >/dev/null 2>&1 \
    || psql "$url" -qAtc "select 1 from pg_extension where extname = 'postgis'" | grep -q 1 \
    || { log "could not create the postgis extension in $url"; return 1; }
  export DATABASE_URL="$url"
  log "PostGIS tests use $(printf '%s' "$url" | sed 's#://\([^:@/]*\):[^@]*@#://\1:***@#')"
}

_apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ -z "$_apt_updated" ]; then
    $sudo apt-get update -qq >/dev/null
    _apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

_pg_dir=""
# A cluster of our own: initdb as the postgres user (initdb refuses root),
# socket and data in a temporary directory, on the first free port.
_pg_throwaway() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    log "installing PostgreSQL"
    # Debian's package would start its own cluster; we only want the binaries.
    _apt_install postgresql
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  local as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
    as=(runuser -u postgres --)
  fi
  _pg_dir=$(mktemp -d /tmp/wangge-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$_pg_dir"
  local port=55432
  while psql "postgres://postgres@127.0.0.1:$port/postgres" -qAtc 'select 1' >/dev/null 2>&1 \
      || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  log "starting a throwaway PostgreSQL on port $port ($_pg_dir)"
  "${as[@]}" "$bin/initdb" -D "$_pg_dir/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$_pg_dir/data" -l "$_pg_dir/log" -w \
    -o "-p $port -k $_pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null \
    || { log "the throwaway PostgreSQL did not start:"; cat "$_pg_dir/log" >&2; return 1; }
  _PG_STOP=("${as[@]}" "$bin/pg_ctl" -D "$_pg_dir/data" -m fast stop)
  trap _pg_stop EXIT
  psql "postgres://postgres@127.0.0.1:$port/postgres" -qc 'CREATE DATABASE test' >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/test"
}

_pg_stop() {
  [ -n "$_pg_dir" ] || return 0
  "${_PG_STOP[@]}" >/dev/null 2>&1 || true
  rm -rf "$_pg_dir"
  _pg_dir=""
}
