#!/usr/bin/env bash
# Extract translatable strings, update the kk and ru catalogs, compile them.
#   scripts/i18n.sh          extract + update + compile
#   scripts/i18n.sh compile  compile only (after editing the .po files)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "compile" ]; then
  pybabel extract --project=qorgau --no-wrap -k _:1,1t -k _:1,2 -k __ -k N_ \
    -o bot/locales/messages.pot bot >/dev/null
  for lang in kk ru; do
    if [ -f "bot/locales/$lang/LC_MESSAGES/messages.po" ]; then
      pybabel update --no-wrap --ignore-obsolete -N -d bot/locales -D messages -l "$lang" -i bot/locales/messages.pot
    else
      pybabel init -d bot/locales -D messages -l "$lang" -i bot/locales/messages.pot
    fi
  done
fi
pybabel compile -d bot/locales -D messages --statistics
