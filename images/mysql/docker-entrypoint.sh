#!/usr/bin/env bash
# The official mysql image's entrypoint, for Debian's MariaDB.
#
# `mysqld` (or options alone: `berth run mysql --max-connections=50`) runs the server as the mysql
# user. If the data directory has no `mysql` system database, it is initialised first:
#   MYSQL_ROOT_PASSWORD | MYSQL_ALLOW_EMPTY_PASSWORD | MYSQL_RANDOM_ROOT_PASSWORD (one is required)
#   MYSQL_ROOT_HOST (default %: root may log in from any address, as through a published port)
#   MYSQL_DATABASE, MYSQL_USER + MYSQL_PASSWORD (a user with every right on that database)
#   each also as NAME_FILE (read from a file, e.g. a mounted secret)
#   /docker-entrypoint-initdb.d/*.sh (run if executable, else sourced), *.sql, *.sql.gz (in name order)
# Any other command runs as given (`berth run mysql bash`).
set -eo pipefail
shopt -s nullglob

log() { printf '%s [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

# NAME from NAME_FILE if that is set (the two are exclusive)
file_env() {
  local var=$1 file_var="${1}_FILE"
  if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
    die "both $var and $file_var are set (but are exclusive)"
  fi
  if [[ -n ${!file_var:-} ]]; then
    export "$var"="$(< "${!file_var}")"
  fi
  unset "$file_var"
}

# The server's value of one option after every config file and the command line ("$@"), so a
# datadir or socket set in conf.d or as an argument is the one initialised and waited for.
server_option() {
  local name=$1
  shift
  # the values table follows a line of dashes; before it, wrapped help text may start with the name
  "$@" --verbose --help 2>/dev/null | awk -v name="$name" '/^-----/ { table = 1 } table && $1 == name { print $2; exit }'
}

sql_string() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\\\'}"; }
# shellcheck disable=SC2016  # the backticks are SQL's quotes, printed as they are
sql_name() { printf '`%s`' "${1//\`/\`\`}"; }

# SQL on stdin to the temporary server, as root (with its password once it has one); used by
# initdb.d scripts too, as in the official image: docker_process_sql [--database=NAME] < file.sql
docker_process_sql() {
  local password=${ROOT_PASSWORD_SET:-}
  password=${password//\\/\\\\}
  mariadb --defaults-extra-file=<(printf '[client]\npassword="%s"\n' "${password//\"/\\\"}") \
    --protocol=socket --socket="$SOCKET" -uroot -hlocalhost --comments "$@"
}

start_temp_server() {
  # no networking: nobody can reach the server before root has its password
  "$@" --skip-networking --socket="$SOCKET" --wsrep-on=OFF --skip-log-bin &
  TEMP_PID=$!
  local _
  for _ in $(seq 300); do
    if docker_process_sql --database=mysql <<< 'SELECT 1' &> /dev/null; then
      return
    fi
    kill -0 "$TEMP_PID" 2> /dev/null || die "the server stopped during initialisation (its output is above)"
    sleep 0.1
  done
  die "the server did not start within 30 seconds"
}

stop_temp_server() {
  kill "$TEMP_PID"  # SIGTERM: a clean shutdown, as for the container itself
  wait "$TEMP_PID" || die "the temporary server did not shut down cleanly"
}

setup_users() {
  local root_host=${MYSQL_ROOT_HOST:-%} root_password=$MYSQL_ROOT_PASSWORD create_root=""
  if [[ -n $MYSQL_RANDOM_ROOT_PASSWORD ]]; then
    root_password=$(head -c 24 /dev/urandom | base64)
    log "GENERATED ROOT PASSWORD: $root_password"
  fi
  if [[ $root_host != localhost ]]; then
    create_root="CREATE USER 'root'@$(sql_string "$root_host") IDENTIFIED BY $(sql_string "$root_password");
      GRANT ALL ON *.* TO 'root'@$(sql_string "$root_host") WITH GRANT OPTION;"
  fi
  # Only root@localhost (and MariaDB's own mariadb.sys) survive: install-db also makes root for
  # 127.0.0.1, ::1 and the build host's name, and anonymous users.
  docker_process_sql --database=mysql <<-EOSQL
	SET @@SESSION.SQL_LOG_BIN=0;
	SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
	DELETE FROM mysql.global_priv WHERE User NOT IN ('root', 'mariadb.sys') OR Host <> 'localhost';
	DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';
	FLUSH PRIVILEGES;
	ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_password");
	${create_root}
	EOSQL
  ROOT_PASSWORD_SET=$root_password

  if [[ -n $MYSQL_DATABASE ]]; then
    log "Creating database $MYSQL_DATABASE"
    docker_process_sql <<< "CREATE DATABASE IF NOT EXISTS $(sql_name "$MYSQL_DATABASE");"
  fi
  if [[ -n $MYSQL_USER ]]; then
    log "Creating user $MYSQL_USER"
    docker_process_sql <<< "CREATE USER $(sql_string "$MYSQL_USER")@'%' IDENTIFIED BY $(sql_string "$MYSQL_PASSWORD");"
    if [[ -n $MYSQL_DATABASE ]]; then
      docker_process_sql <<< "GRANT ALL ON $(sql_name "$MYSQL_DATABASE").* TO $(sql_string "$MYSQL_USER")@'%';"
    fi
  fi
}

run_initdb_scripts() {
  local f database=()
  [[ -n $MYSQL_DATABASE ]] && database=(--database="$MYSQL_DATABASE")
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) if [[ -x $f ]]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
      *.sql) log "running $f"; docker_process_sql "${database[@]}" < "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | docker_process_sql "${database[@]}" ;;
      *) log "ignoring $f" ;;
    esac
  done
}

init_database() {
  local f
  for f in MYSQL_ROOT_PASSWORD MYSQL_DATABASE MYSQL_USER MYSQL_PASSWORD; do file_env "$f"; done
  if [[ -z $MYSQL_ROOT_PASSWORD && -z $MYSQL_ALLOW_EMPTY_PASSWORD && -z $MYSQL_RANDOM_ROOT_PASSWORD ]]; then
    die "Database is uninitialized and password option is not specified
    You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD"
  fi
  if [[ $MYSQL_USER == root ]]; then
    die "MYSQL_USER=root: MYSQL_USER and MYSQL_PASSWORD are for a regular user, the root user has MYSQL_ROOT_PASSWORD"
  fi
  if [[ -n $MYSQL_USER && -z $MYSQL_PASSWORD ]]; then
    die "MYSQL_USER is set without MYSQL_PASSWORD"
  fi

  # Until the end of this function the directory is half made; the mark makes a later start
  # refuse it, instead of running a server whose root has no password yet.
  touch "$DATADIR/$INCOMPLETE"
  log "Initializing database files in $DATADIR"
  local out
  out=$(mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
          --skip-test-db --skip-name-resolve "${@:2}" 2>&1) || { printf '%s\n' "$out" >&2; die "mariadb-install-db failed"; }

  start_temp_server "$@"
  setup_users
  run_initdb_scripts
  stop_temp_server
  rm -f "$DATADIR/$INCOMPLETE"
  log "MariaDB init process done. Ready for start up."
}

INCOMPLETE=.berth-init-incomplete

if [[ ${1:0:1} == - ]]; then
  set -- mysqld "$@"
fi

if [[ $1 == mysqld || $1 == mariadbd ]]; then
  DATADIR=$(server_option datadir "$@")
  SOCKET=$(server_option socket "$@")
  [[ -n $DATADIR && -n $SOCKET ]] || die "cannot read the server's configuration: $("$@" --verbose --help 2>&1 >/dev/null | head -5)"
  if [[ $(id -u) == 0 ]]; then
    # a fresh bind mount (the seed's -v $PWD/data:/var/lib/mysql) belongs to root: hand it over
    mkdir -p "$DATADIR" "$(dirname "$SOCKET")" /var/log/mysql
    find "$DATADIR" "$(dirname "$SOCKET")" /var/log/mysql \! -user mysql -exec chown mysql:mysql '{}' +
    exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
  fi
  if [[ -e $DATADIR/$INCOMPLETE ]]; then
    die "$DATADIR holds an initialisation that did not finish (see the earlier output); empty it to start over"
  fi
  if [[ ! -d $DATADIR/mysql ]]; then
    init_database "$@"
  fi
fi

exec "$@"
