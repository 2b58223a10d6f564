"""Typing a mainland plate's Chinese characters on a keyboard with no input method:
the province by the pinyin of its abbreviation (`jing` -> 京), by its initials or the
pinyin of its full name (`gd`, `guangdong` -> 粤), or by a prefix of either (`j`); the
plate's last character (挂 学 警 港 澳 领 使) by its pinyin."""

from __future__ import annotations

from dataclasses import dataclass

from console.domain.plates.text import clean


@dataclass(frozen=True, slots=True)
class Province:
    """A province-level division as plates name it."""

    abbreviation: str  # 粤
    pinyin: str  # yue: the abbreviation's reading
    name: str  # 广东
    name_pinyin: str  # guangdong
    initials: str  # gd: the first letter of each syllable of the name


_TABLE = (
    ("京", "jing", "北京", "bei jing"),
    ("津", "jin", "天津", "tian jin"),
    ("冀", "ji", "河北", "he bei"),
    ("晋", "jin", "山西", "shan xi"),
    ("蒙", "meng", "内蒙古", "nei meng gu"),
    ("辽", "liao", "辽宁", "liao ning"),
    ("吉", "ji", "吉林", "ji lin"),
    ("黑", "hei", "黑龙江", "hei long jiang"),
    ("沪", "hu", "上海", "shang hai"),
    ("苏", "su", "江苏", "jiang su"),
    ("浙", "zhe", "浙江", "zhe jiang"),
    ("皖", "wan", "安徽", "an hui"),
    ("闽", "min", "福建", "fu jian"),
    ("赣", "gan", "江西", "jiang xi"),
    ("鲁", "lu", "山东", "shan dong"),
    ("豫", "yu", "河南", "he nan"),
    ("鄂", "e", "湖北", "hu bei"),
    ("湘", "xiang", "湖南", "hu nan"),
    ("粤", "yue", "广东", "guang dong"),
    ("桂", "gui", "广西", "guang xi"),
    ("琼", "qiong", "海南", "hai nan"),
    ("渝", "yu", "重庆", "chong qing"),
    ("川", "chuan", "四川", "si chuan"),
    ("贵", "gui", "贵州", "gui zhou"),
    ("云", "yun", "云南", "yun nan"),
    ("藏", "zang", "西藏", "xi zang"),
    ("陕", "shan", "陕西", "shaan xi"),  # the official spelling keeps it apart from 山西
    ("甘", "gan", "甘肃", "gan su"),
    ("青", "qing", "青海", "qing hai"),
    ("宁", "ning", "宁夏", "ning xia"),
    ("新", "xin", "新疆", "xin jiang"),
)
# In the order of GB/T 2260, the order candidates are offered in. The names' syllables
# are split by hand above: pinyin cannot be split by rule without a dictionary.
PROVINCES: tuple[Province, ...] = tuple(
    Province(a, p, n, s.replace(" ", ""), "".join(syllable[0] for syllable in s.split())) for a, p, n, s in _TABLE
)
_BY_ABBREVIATION = {p.abbreviation: p for p in PROVINCES}
_BY_NAME = {p.name: p for p in PROVINCES}

# The characters that end special mainland plates, with their readings.
LAST_CHARACTERS: tuple[tuple[str, str], ...] = (
    ("挂", "gua"),  # trailer
    ("学", "xue"),  # driving school
    ("警", "jing"),  # police
    ("港", "gang"),  # Hong Kong cross-border
    ("澳", "ao"),  # Macau cross-border
    ("领", "ling"),  # consulate
    ("使", "shi"),  # embassy
)


def _typed(text: str) -> str:
    """Lower-case ASCII letters only: "Jing ", "GUANG-dong", "ｙｕｅ" all work."""
    return "".join(ch for ch in clean(text).lower() if "a" <= ch <= "z")


def province(abbreviation: str) -> Province | None:
    """The province of an abbreviation (traditional forms too: 粵 -> 粤)."""
    return _BY_ABBREVIATION.get(clean(abbreviation))


def province_candidates(typed: str, default: str | None = None) -> list[Province]:
    """The provinces `typed` may mean, best first, in a stable order.

    Best: the abbreviation's pinyin (`yu` -> 豫 渝), then the full name's pinyin or
    initials (`guangdong`, `gd`), then prefixes of the abbreviation's pinyin (`j`), of
    the name's pinyin and of its initials. A Chinese abbreviation or full name typed as
    such gives its province. Within one rank the site's `default` province comes first,
    then the GB/T 2260 order. Nothing typed: every province, the default first.
    """
    text = clean(typed)
    if text in _BY_ABBREVIATION or text in _BY_NAME:
        return [_BY_ABBREVIATION.get(text) or _BY_NAME[text]]
    key = _typed(typed)
    home = 0 if default is None else 1

    def rank(p: Province) -> int | None:
        tests = (
            p.pinyin == key,
            p.name_pinyin == key or p.initials == key,
            p.pinyin.startswith(key),
            p.name_pinyin.startswith(key),
            p.initials.startswith(key),
        )
        return next((i for i, hit in enumerate(tests) if hit), None)

    ranked = [(r, 0 if p.abbreviation == default else home, i, p) for i, p in enumerate(PROVINCES) if (r := rank(p)) is not None]
    ranked.sort(key=lambda item: item[:3])
    return [p for *_, p in ranked]


def last_character_candidates(typed: str) -> list[str]:
    """The special last characters `typed` may mean: `jing` -> 警, `g` -> 挂 港."""
    key = _typed(typed)
    exact = [ch for ch, reading in LAST_CHARACTERS if reading == key]
    prefixed = [ch for ch, reading in LAST_CHARACTERS if reading.startswith(key) and ch not in exact]
    return exact + prefixed
