"""Fill the kk/ru catalogs from bot/locales/pending/*.json ({"msgid": {"kk": ..., "ru": ...}}),
after scripts/i18n.sh has extracted the new msgids. Prints what is still untranslated; once
nothing is, compile (scripts/i18n.sh compile) and delete the merged pending files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parent.parent / "bot" / "locales"


def main() -> int:
    pending: dict[str, dict[str, str]] = {}
    for path in sorted((LOCALES / "pending").glob("*.json")):
        pending.update(json.loads(path.read_text(encoding="utf-8")))
    missing = 0
    for lang in ("kk", "ru"):
        po_path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=lang)
        for message in catalog:
            if not message.id or message.string:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            found = pending.get(key, {}).get(lang)
            if found:
                message.string = found
                message.flags.discard("fuzzy")
            else:
                missing += 1
                print(f"{lang}: untranslated: {key!r}")
        with po_path.open("wb") as f:
            write_po(f, catalog, width=0, omit_header=False)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
