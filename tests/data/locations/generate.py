"""Write addresses_dev.jsonl: addresses in the forms people type, labelled from the official lists.

    python tests/data/locations/generate.py

Every case is composed from the snapshot (2025 communes, pre-2025 communes, districts and
provinces, and the old-to-new map); the expected commune is the one the official map gives.
Where the written form cannot tell two communes apart (a split old commune, a name shared
inside the same area), the label is null: the resolver should give candidates, not a guess.
Ids are stable for a seed; `split` is fixed by a hash of the id (one case in five is
"untouched": never looked at while tuning, reported on its own).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import unicodedata
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
UNITS = HERE.parents[2] / "config" / "geography" / "units.json.gz"
OUT = HERE / "addresses_dev.jsonl"
SEED = 20261204
PER_KIND = 110

# Streets named after people and dates: many old wards bear the same names.
STREETS = [
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Lê Duẩn",
    "Hùng Vương",
    "Quang Trung",
    "Nguyễn Văn Cừ",
    "Lê Đức Thọ",
    "Trưng Nữ Vương",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Phan Chu Trinh",
    "Nguyễn Huệ",
    "Điện Biên Phủ",
    "Trần Phú",
    "Võ Thị Sáu",
    "Nguyễn Du",
    "Bạch Đằng",
    "Hoàng Diệu",
    "Phạm Văn Đồng",
    "Nguyễn Thị Minh Khai",
    "Cách Mạng Tháng Tám",
    "Nguyễn Văn Linh",
    "Lê Văn Sỹ",
    "Tôn Đức Thắng",
    "Nguyễn Chí Thanh",
    "Lạc Long Quân",
    "Âu Cơ",
    "Kim Mã",
    "Giải Phóng",
    "Trường Chinh",
    "Phan Đình Phùng",
    "Lê Thánh Tông",
    "Ngô Quyền",
    "Lý Tự Trọng",
    "Nguyễn Tất Thành",
    "Võ Văn Kiệt",
    "30 Tháng 4",
    "3 Tháng 2",
    "Lê Hồng Phong",
    "Trần Quang Khải",
    "Nguyễn Đình Chiểu",
    "Hoàng Văn Thụ",
    "Phan Bội Châu",
    "Nguyễn Công Trứ",
    "Lê Lai",
    "Tô Hiến Thành",
    "Lý Thái Tổ",
]
HOUSES = [
    "{a}",
    "{a}/{b}",
    "{a}/{b}/{c}",
    "số {a}",
    "{a}A",
    "K{b}/{a}",
    "hẻm {a}",
    "ngõ {a}",
    "kiệt {b}",
    "{a} đường",
    "{b}/{a}",
]
HAMLETS = [
    "thôn {n}",
    "ấp {n}",
    "tổ {n}",
    "TDP {n}",
    "KP {n}",
    "KP.{n}",
    "khu phố {n}",
    "tổ dân phố {n}",
    "xóm {n}",
    "khóm {n}",
]
WRAPPERS = [
    "{a}",
    "{a}",
    "{a}",
    "địa chỉ: {a}",
    "em ở {a}, bố em đánh em",
    "nhà em ở {a}",
    "có bé bị bạo hành tại {a}, mong giúp đỡ",
    "dc {a}",
    "{a}. Cần hỗ trợ gấp",
    "cháu bé ở {a} bị bỏ đói",
    "Địa chỉ nhà: {a}",
]
HCM_CITY = ["HCM", "TP.HCM", "TPHCM", "SG", "Sài Gòn", "tp hcm", "Hồ Chí Minh", ""]
HN_CITY = ["HN", "Hà Nội", "Ha Noi", "TP Hà Nội", ""]


def plain(short: str) -> str:
    """A short name as typed: without the list's "(Xã)" that tells same-named units apart."""
    return short.split(" (")[0]


def fold(text: str) -> str:
    """Lower case without diacritics (đ -> d)."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def initials(name: str) -> str:
    """ "Gò Vấp" -> "GV"."""
    return "".join(fold(word)[0] for word in name.split()).upper()


class Lists:
    """The snapshot, indexed for composing cases."""

    def __init__(self) -> None:
        with gzip.open(UNITS, "rt", encoding="utf-8") as stream:
            data = json.load(stream)
        self.provinces = {p[0]: p for p in data["provinces"]}
        self.wards = {w[0]: w for w in data["wards"]}
        self.old_provinces = {p[0]: p for p in data["old_provinces"]}
        self.old_districts = {d[0]: d for d in data["old_districts"]}
        for w in data["old_wards"]:
            w[3] = plain(w[3])
        self.old_wards = {w[0]: w for w in data["old_wards"]}
        self.old_of_district: dict[int, list[list]] = defaultdict(list)  # type: ignore[type-arg]
        for w in data["old_wards"]:
            self.old_of_district[w[1]].append(w)
        self.new_of_province: dict[int, list[list]] = defaultdict(list)  # type: ignore[type-arg]
        for w in data["wards"]:
            self.new_of_province[w[1]].append(w)
        self.new_province_of_old: dict[int, set[int]] = defaultdict(set)
        for w in data["old_wards"]:
            op = self.old_districts[w[1]][1]
            for code in w[7]:
                self.new_province_of_old[op].add(self.wards[code][1])

    def old_province(self, ward: list) -> list:  # type: ignore[type-arg]
        return self.old_provinces[self.old_districts[ward[1]][1]]

    def old_successors(self, district: int, short: str) -> set[int]:
        """New codes of every old commune of the district written `short` (folded)."""
        codes: set[int] = set()
        for w in self.old_of_district[district]:
            if fold(w[3]) == fold(short):
                codes.update(w[7])
        return codes

    def new_same_name(self, province: int, short: str) -> list[int]:
        return [w[0] for w in self.new_of_province[province] if fold(w[3]) == fold(short)]


def style(text: str, rng: random.Random) -> str:
    """How it is typed: as written, without diacritics, upper or lower case."""
    roll = rng.random()
    if roll < 0.35:
        return text
    if roll < 0.65:
        return fold(text)
    if roll < 0.8:
        return fold(text).upper()
    if roll < 0.9:
        return text.lower()
    return text.upper()


def join(parts: list[str], rng: random.Random) -> str:
    sep = rng.choice([", ", ", ", ", ", ",", " - ", " ", ", "])
    return sep.join(p for p in parts if p)


def house(rng: random.Random) -> str:
    return rng.choice(HOUSES).format(
        a=rng.randint(1, 399), b=rng.randint(1, 99), c=rng.randint(1, 20)
    )


def hamlet(rng: random.Random) -> str:
    return rng.choice(HAMLETS).format(n=rng.randint(1, 15))


def expected(lists: Lists, codes: set[int]) -> dict[str, int] | None:
    if len(codes) != 1:
        return None
    code = next(iter(codes))
    return {"province_code": lists.wards[code][1], "ward_code": code}


def province_word(lists: Lists, ward: list, rng: random.Random) -> str:  # type: ignore[type-arg]
    """The province of an old commune: its old name, or the 2025 province it is in now."""
    old = lists.old_province(ward)
    if rng.random() < 0.6:
        return rng.choice([old[2], old[2], old[1]])
    new = lists.provinces[lists.wards[ward[7][0]][1]]
    return rng.choice([new[2], new[1]])


def named_old_ward(lists: Lists, rng: random.Random, trap: bool) -> list:  # type: ignore[type-arg]
    """An old commune with a name (not a number), unique in its district."""
    wards = list(lists.old_wards.values())
    while True:
        w = rng.choice(wards)
        if w[3][-1].isdigit() or len(lists.old_successors(w[1], w[3])) == 0:
            continue
        if sum(fold(o[3]) == fold(w[3]) for o in lists.old_of_district[w[1]]) > 1:
            continue
        if trap:
            # The trap: a 2025 commune of the same province bears the old district's name.
            district = lists.old_districts[w[1]]
            new_province = lists.wards[w[7][0]][1]
            if not lists.new_same_name(new_province, district[3]):
                continue
        return w


def old_triple(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    w = named_old_ward(lists, rng, trap=rng.random() < 0.6)
    district = lists.old_districts[w[1]]
    parts = [w[3], district[3], province_word(lists, w, rng)]
    if rng.random() < 0.3:
        parts.insert(0, hamlet(rng))
    text = style(join(parts, rng), rng)
    return rng.choice(WRAPPERS).format(a=text), expected(lists, lists.old_successors(w[1], w[3]))


def _district_short(district: list, rng: random.Random) -> str:  # type: ignore[type-arg]
    """How a district of a city is shortened: Q5, Q.5, Q.GV, quận Gò Vấp, TP BMT."""
    kind, short = district[4], district[3]
    if kind == "Quận":
        if short.isdigit():
            return rng.choice([f"Q{short}", f"Q.{short}", f"Q {short}", f"quận {short}"])
        return rng.choice(
            [
                f"Q.{initials(short)}",
                f"Q.{initials(short)}",
                f"Q {short}",
                f"Q. {short}",
                f"quận {short}",
            ]
        )
    if kind == "Thành phố":
        return rng.choice(
            [
                f"TP {initials(short)}",
                f"TP{initials(short)}",
                f"TP. {short}",
                f"tp {short}",
                f"TP.{initials(short)}",
            ]
        )
    if kind == "Thị xã":
        return rng.choice([f"TX {short}", f"TX.{short}", f"thị xã {short}"])
    return rng.choice([f"H. {short}", f"huyện {short}", f"H.{short}"])


def city_shorthand(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    urban = [d for d in lists.old_districts.values() if d[4] in ("Quận", "Thành phố")]
    while True:
        district = rng.choice(urban)
        wards = [w for w in lists.old_of_district[district[0]] if w[4] == "Phường"]
        if wards:
            break
    w = rng.choice(wards)
    short = w[3]
    number = short.split()[-1] if short.startswith("Phường") else None
    if number:
        ward_text = rng.choice(
            [
                f"P{number}",
                f"P.{number}",
                f"F{number}",
                f"P {number}",
                f"phường {number}",
                f"F.{number}",
                f"P.0{number}" if len(number) == 1 else f"P.{number}",
            ]
        )
    else:
        ward_text = rng.choice([f"P. {short}", f"P.{short}", f"phường {short}", f"F.{short}"])
    district_text = _district_short(district, rng)
    province = district[1]
    city = ""
    if province == 79:
        city = rng.choice(HCM_CITY)
    elif province == 1:
        city = rng.choice(HN_CITY)
    elif rng.random() < 0.4:
        city = lists.old_provinces[province][2]
    parts = [ward_text, district_text, city]
    if rng.random() < 0.3:
        parts.insert(0, hamlet(rng))
    if rng.random() < 0.3:
        parts.insert(0, f"{house(rng)} {rng.choice(STREETS)}")
    sep = rng.choice([" ", ", ", ", ", " - ", ","])
    text = sep.join(p for p in parts if p)
    text = text if rng.random() < 0.5 else fold(text) if rng.random() < 0.5 else text.upper()
    return rng.choice(WRAPPERS).format(a=text), expected(lists, lists.old_successors(w[1], short))


def street_first(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    street = f"{house(rng)} {rng.choice(STREETS)}"
    if rng.random() < 0.5:
        w = named_old_ward(lists, rng, trap=False)
        district = lists.old_districts[w[1]]
        marked = rng.random() < 0.4
        parts = [
            f"{rng.choice(['phường', 'p.', 'xã', 'x.'])} {w[3]}" if marked else w[3],
            district[3],
            province_word(lists, w, rng),
        ]
        label = expected(lists, lists.old_successors(w[1], w[3]))
        if marked and fold(parts[0]).startswith(("x", "p")):
            kind = "Xã" if fold(parts[0]).startswith("x") else "Phường"
            if kind != w[4]:
                parts[0] = w[3]
    else:
        w = _unique_new_ward(lists, rng)
        province = lists.provinces[w[1]]
        marked = rng.random() < 0.5
        parts = [f"{w[4].lower()} {w[3]}" if marked else w[3], province[2]]
        label = {"province_code": w[1], "ward_code": w[0]}
    text = join([street, *parts], rng)
    if rng.random() < 0.15:
        text = " ".join(text.replace(",", " ").split()) + " vn"
    return rng.choice(WRAPPERS).format(a=style(text, rng)), label


def _unique_new_ward(lists: Lists, rng: random.Random) -> list:  # type: ignore[type-arg]
    wards = list(lists.wards.values())
    while True:
        w = rng.choice(wards)
        if len(lists.new_same_name(w[1], w[3])) == 1 and not w[3][-1].isdigit():
            return w


def ambiguous(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    roll = rng.random()
    if roll < 0.5:
        # The old district decides between same-named communes of one province.
        while True:
            w = named_old_ward(lists, rng, trap=False)
            op = lists.old_districts[w[1]][1]
            same = [
                o
                for o in lists.old_wards.values()
                if fold(o[3]) == fold(w[3]) and lists.old_districts[o[1]][1] == op and o[1] != w[1]
            ]
            if same:
                break
        district = lists.old_districts[w[1]]
        parts = [w[3], _district_word(district, rng), province_word(lists, w, rng)]
        text = style(join(parts, rng), rng)
        return rng.choice(WRAPPERS).format(a=text), expected(
            lists, lists.old_successors(w[1], w[3])
        )
    if roll < 0.75:
        # A 2025 name in several provinces, no province: cannot say.
        by_name: dict[str, set[int]] = defaultdict(set)
        for w in lists.wards.values():
            by_name[fold(w[3])].add(w[1])
        names = sorted(n for n, p in by_name.items() if len(p) > 1 and not n[-1].isdigit())
        name = rng.choice(names)
        w = next(x for x in lists.wards.values() if fold(x[3]) == name)
        text = rng.choice([f"xã {w[3]}", f"phường {w[3]}", f"{w[3]}", f"ở {w[3]}"])
        return rng.choice(WRAPPERS).format(a=style(text, rng)), None
    # An old commune named in several districts of its old province, district not given.
    while True:
        w = named_old_ward(lists, rng, trap=False)
        op = lists.old_districts[w[1]][1]
        same = {
            c
            for o in lists.old_wards.values()
            if fold(o[3]) == fold(w[3]) and lists.old_districts[o[1]][1] == op and o[4] == w[4]
            for c in o[7]
        }
        if len(same) > 1 and not lists.new_same_name(lists.wards[w[7][0]][1], w[3]):
            break
    text = join([f"{w[4].lower()} {w[3]}", lists.old_provinces[op][2]], rng)
    return rng.choice(WRAPPERS).format(a=style(text, rng)), None


def _district_word(district: list, rng: random.Random) -> str:  # type: ignore[type-arg]
    if rng.random() < 0.5:
        return district[3]
    return f"{district[4].lower()} {district[3]}"


def run_together(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    w = named_old_ward(lists, rng, trap=False)
    district = lists.old_districts[w[1]]
    province = lists.old_province(w)
    squash = [n.replace(" ", "") if rng.random() < 0.6 else n for n in (w[3], district[3])]
    parts = [hamlet(rng).upper(), *squash, province[2]]
    if rng.random() < 0.5:
        parts = parts[:-1]  # "THON 2_EANAM_EAHLEO": the province left out
    sep = rng.choice(["_", "_", "-", "__"])
    text = fold(sep.join(parts)).upper()
    return text, expected(lists, lists.old_successors(w[1], w[3]))


def old_province(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    merged = [p for code, p in lists.old_provinces.items() if code not in lists.provinces]
    old = rng.choice(merged)
    districts = [d for d in lists.old_districts.values() if d[1] == old[0]]
    if rng.random() < 0.5:
        # A 2025 commune with the old province it lies in.
        olds = [w for d in districts for w in lists.old_of_district[d[0]]]
        new_codes = sorted({c for w in olds for c in w[7]})
        code = rng.choice(new_codes)
        w = lists.wards[code]
        if len(lists.new_same_name(w[1], w[3])) > 1 or w[3][-1].isdigit():
            return old_province(lists, rng)
        marked = rng.random() < 0.6
        parts = [f"{w[4].lower()} {w[3]}" if marked else w[3], old[2]]
        return rng.choice(WRAPPERS).format(a=style(join(parts, rng), rng)), {
            "province_code": w[1],
            "ward_code": w[0],
        }
    district = rng.choice(districts)
    wards = [
        w
        for w in lists.old_of_district[district[0]]
        if not w[3][-1].isdigit()
        and sum(fold(o[3]) == fold(w[3]) for o in lists.old_of_district[district[0]]) == 1
    ]
    w = rng.choice(wards)
    parts = [f"{w[4].lower()} {w[3]}", _district_word(district, rng), old[2]]
    return rng.choice(WRAPPERS).format(a=style(join(parts, rng), rng)), expected(lists, set(w[7]))


def new(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    w = _unique_new_ward(lists, rng)
    province = lists.provinces[w[1]]
    marker = rng.choice([w[4].lower(), w[4].lower(), "", "x." if w[4] == "Xã" else "p."])
    parts = [f"{marker} {w[3]}".strip(), rng.choice([province[2], province[1]])]
    if rng.random() < 0.3:
        parts.insert(0, hamlet(rng))
    return rng.choice(WRAPPERS).format(a=style(join(parts, rng), rng)), {
        "province_code": w[1],
        "ward_code": w[0],
    }


NONE_TEXTS = [
    "em bị bố mẹ đánh, em không dám nói ở đâu",
    "cho hỏi số tổng đài là gì",
    "gọi nhầm số ạ",
    "có một bé bị đánh ở gần chợ, em không biết tên chợ",
    "Tôi muốn báo cáo một vụ bạo hành trẻ em",
    "alo alo",
    "nhà em ở {p}, em không nhớ xã",
    "ở {p} có người dụ trẻ con đi làm",
    "em đang ở {p} nhưng không biết địa chỉ",
    "{s} không rõ phường nào",
    "bé ở số {n} đường {s}",
    "ở thôn {n}, em không nhớ xã",
    "tổ {n} khu phố {n}",
    "xin giúp đỡ, chị em bị lừa sang biên giới",
    "Q{q} P{n}",
]


def none(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    province = rng.choice(list(lists.provinces.values()))
    text = rng.choice(NONE_TEXTS).format(
        p=province[2], s=rng.choice(STREETS), n=rng.randint(1, 30), q=rng.randint(13, 40)
    )
    if "{p}" in text or "Q" in text:
        return style(text, rng), None
    return style(text, rng), None


def english(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    """ "Ward 15, Go Vap District, Ho Chi Minh City", "Commune X, Y District, Z Province"."""
    w = named_old_ward(lists, rng, trap=False) if rng.random() < 0.6 else _numbered(lists, rng)
    district = lists.old_districts[w[1]]
    province = lists.old_province(w)
    unit = "Ward" if w[4] == "Phường" else "Commune" if w[4] == "Xã" else "Town"
    name = fold(w[3]).title()
    if name.startswith("Phuong "):
        ward = f"Ward {name.split()[-1]}"
    else:
        ward = rng.choice([f"{name} {unit}", f"{unit} {name}", name])
    dname = fold(district[3]).title()
    if dname.startswith("Quan ") and dname[-1].isdigit():
        dname = dname.split()[-1]  # "Quận 6" -> "District 6"
    dist = (
        f"District {dname}"
        if dname.isdigit()
        else rng.choice([f"{dname} District", f"{dname} Dist.", f"{dname} District"])
    )
    if district[4] == "Thành phố" and not dname.isdigit():
        dist = rng.choice([f"{dname} City", f"{dname} District"])
    pname = fold(province[2]).title()
    prov = {79: rng.choice(["Ho Chi Minh City", "HCMC", "HCM City"]), 1: "Hanoi"}.get(
        province[0], rng.choice([f"{pname} Province", pname])
    )
    parts = [ward, dist, prov]
    if rng.random() < 0.3:
        parts.insert(0, f"{rng.randint(1, 300)} {fold(rng.choice(STREETS)).title()} Street")
    if rng.random() < 0.3:
        parts.append("Vietnam")
    return ", ".join(parts), expected(lists, lists.old_successors(w[1], w[3]))


def _numbered(lists: Lists, rng: random.Random) -> list:  # type: ignore[type-arg]
    numbered = [w for w in lists.old_wards.values() if w[3].startswith("Phường ")]
    return rng.choice(numbered)


def full_form(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    """Every unit with its type word, with or without commas: "Xã A Huyện B Tỉnh C"."""
    w = named_old_ward(lists, rng, trap=rng.random() < 0.5)
    district = lists.old_districts[w[1]]
    province = lists.old_province(w)
    parts = [w[2].split(" (")[0], district[2], province[1]]
    if rng.random() < 0.4:
        parts.insert(0, hamlet(rng))
    sep = rng.choice([" ", " ", ", ", " - "])
    return style(sep.join(parts), rng), expected(lists, lists.old_successors(w[1], w[3]))


def typo(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    """An old triple with one slip (a letter dropped, doubled or swapped) in one name."""
    w = named_old_ward(lists, rng, trap=False)
    district = lists.old_districts[w[1]]
    parts = [fold(w[3]), fold(district[3]), fold(lists.old_province(w)[2])]
    which = rng.choice([0, 1])
    word = parts[which]
    if len(word) < 6:
        return typo(lists, rng)
    i = rng.randint(1, len(word) - 2)
    slip = rng.choice(["drop", "double", "swap"])
    if slip == "drop":
        word = word[:i] + word[i + 1 :]
    elif slip == "double":
        word = word[:i] + word[i] + word[i:]
    else:
        word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    parts[which] = word
    return join(parts, rng), expected(lists, lists.old_successors(w[1], w[3]))


KINDS = {
    "old_triple": old_triple,
    "city_shorthand": city_shorthand,
    "street_first": street_first,
    "ambiguous": ambiguous,
    "run_together": run_together,
    "old_province": old_province,
    "new": new,
    "none": none,
    "english": english,
    "full_form": full_form,
    "typo": typo,
}


def split_of(record_id: str) -> str:
    """One case in five is untouched, by a hash of its id (fixed)."""
    return "untouched" if hashlib.sha256(record_id.encode()).digest()[0] % 5 == 0 else "dev"


def main() -> None:
    lists = Lists()
    rng = random.Random(SEED)
    rows = []
    seen: set[str] = set()
    for kind, make in KINDS.items():
        count = 0
        while count < PER_KIND:
            text, label = make(lists, rng)
            if text in seen:
                continue
            if kind == "none" and count >= 40:
                break
            seen.add(text)
            count += 1
            record_id = f"addr-{kind}-{count:03d}"
            rows.append(
                {
                    "id": record_id,
                    "kind": kind,
                    "split": split_of(record_id),
                    "text": text,
                    "expected": label,
                }
            )
    with OUT.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} cases -> {OUT}")


if __name__ == "__main__":
    main()
