#!/bin/sh
# The official registry image's entrypoint: a config file alone means `registry serve FILE`;
# a subcommand (serve, garbage-collect, help) or an option goes to the registry binary.
set -e

case "$1" in
  *.yaml|*.yml) set -- registry serve "$@" ;;
  serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac

exec "$@"
