"""The bot's YAML files (the FAQ, the member organisations, the holiday overrides, the demo
texts), read with libyaml's safe loader where PyYAML was built with it: about ten times
faster than the same loader in pure Python, which is the fallback. Every start and every
test context reads several of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """The document in `path` (UTF-8), loaded safely."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
