"""The fixed top-level appeal topics (domain.md) and the member organisations list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.yaml_files import read_yaml

# id -> (Kazakh, Russian). These ids are fixed by the union: the FAQ's top-level files,
# appeal topics and the legal inspection's report all use them.
TOPICS: dict[str, tuple[str, str]] = {
    "pay": ("Еңбекақы", "Оплата труда"),
    "working-time": ("Жұмыс уақыты және жүктеме", "Рабочее время и нагрузка"),
    "leave": ("Демалыс", "Отпуск"),
    "dismissal": ("Жұмыстан шығару", "Увольнение"),
    "contract": ("Еңбек шарты", "Трудовой договор"),
    "discipline": ("Тәртіптік жаза", "Дисциплинарные взыскания"),
    "disputes": ("Еңбек даулары", "Трудовые споры"),
    "attestation": ("Аттестация және санат", "Аттестация и категории"),
    "pedagogue-status": ("Педагог мәртебесі", "Статус педагога"),
    "safety": ("Еңбекті қорғау", "Охрана труда"),
    "social": ("Әлеуметтік кепілдіктер", "Социальные гарантии"),
    "collective-agreement": ("Ұжымдық шарт", "Коллективный договор"),
    "membership": ("Кәсіподаққа мүшелік", "Членство в профсоюзе"),
    "other": ("Басқа", "Другое"),
}


def topic_title(topic: str, lang: str) -> str:
    kk, ru = TOPICS.get(topic, TOPICS["other"])
    return ru if lang == "ru" else kk


ORG_ID = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class MemberOrg:
    id: str
    kk: str
    ru: str
    members: int

    def title(self, lang: str) -> str:
        return self.ru if lang == "ru" else self.kk


class MemberOrgs:
    def __init__(self, orgs: list[MemberOrg]) -> None:
        self.orgs = orgs
        self.by_id = {o.id: o for o in orgs}

    @classmethod
    def load(cls, path: Path) -> MemberOrgs:
        raw = read_yaml(path)
        if not isinstance(raw, list) or not raw:
            raise ValueError(f"{path}: expected a non-empty list of organisations")
        orgs = []
        for item in raw:
            org_id = str(item["id"])
            if len(org_id.encode()) > 24:
                raise ValueError(f"{path}: organisation id {org_id!r} is longer than 24 bytes")
            if not ORG_ID.fullmatch(org_id):
                # the id travels in buttons and in the region's start link (bot/links.py)
                raise ValueError(
                    f"{path}: organisation id {org_id!r} may have only Latin letters, "
                    "digits, '-' and '_'"
                )
            orgs.append(
                MemberOrg(org_id, str(item["kk"]), str(item["ru"]), int(item.get("members") or 0))
            )
        if len({o.id for o in orgs}) != len(orgs):
            raise ValueError(f"{path}: duplicate organisation ids")
        return cls(orgs)

    def title(self, org_id: str | None, lang: str) -> str:
        org = self.by_id.get(org_id or "")
        return org.title(lang) if org else (org_id or "—")


@cache
def default_member_orgs() -> MemberOrgs:
    return MemberOrgs.load(Path(__file__).parent / "data" / "member_orgs.yaml")
