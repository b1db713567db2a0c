"""Write addresses_joined.jsonl: addresses typed without spaces, labelled from the official lists.

    python tests/data/locations/joined.py

The forms of a name field that lost its spaces ("phuongbenthanhquan1",
"XaTanThanhHuyenThuThua", "THON3HAILONGHAIHAU", "tanthanh thuthua longan"), composed from
the snapshot with generate.py's lists and labelled through the official old-to-new map:
null where the text cannot say which commune (a split old commune, a name shared in the
area given). `split` is fixed by a hash of the id, as in generate.py.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import Lists, expected, fold, split_of  # noqa: E402

OUT = HERE / "addresses_joined.jsonl"
SEED = 20261205
PER_KIND = 60
WARD_WORD = {"Xã": "xa", "Phường": "phuong", "Thị trấn": "thitran"}
DISTRICT_WORD = {"Quận": "quan", "Huyện": "huyen", "Thị xã": "thixa", "Thành phố": "tp"}
HAMLET_WORDS = ["thon", "ap", "to", "kp", "tdp", "xom", "khom", "todanpho", "khupho"]


def squash(text: str) -> str:
    return fold(text).replace(" ", "").replace("'", "")


def camel(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in fold(text).replace("'", " ").split())


def case(text: str, rng: random.Random) -> str:
    return text.upper() if rng.random() < 0.4 else text


def old_unit(lists: Lists, rng: random.Random) -> tuple[list, list, list]:  # type: ignore[type-arg]
    """An old commune, its district and old province."""
    w = rng.choice(list(lists.old_wards.values()))
    district = lists.old_districts[w[1]]
    return w, district, lists.old_province(w)


def old_marked(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    """ "xatanthanhhuyenthuthua(longan)", numbered wards included ("phuong12quantanbinh")."""
    w, district, province = old_unit(lists, rng)
    text = (
        WARD_WORD.get(w[4], "xa")
        + squash(w[3])
        + DISTRICT_WORD.get(district[4], "huyen")
        + squash(district[3])
    )
    if rng.random() < 0.5:
        text += squash(province[2])
    return case(text, rng), expected(lists, lists.old_successors(w[1], w[3]))


def old_bare(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    """ "TANTHANHTHUTHUALONGAN": no markers, names only (a named commune)."""
    w, district, province = old_unit(lists, rng)
    if w[3][-1].isdigit() or district[3][-1].isdigit():
        return old_bare(lists, rng)
    parts = [squash(w[3]), squash(district[3])]
    if rng.random() < 0.7:
        parts.append(squash(province[2]))
    sep = rng.choice(["", "", "", " "])
    return case(sep.join(parts), rng), expected(lists, lists.old_successors(w[1], w[3]))


def old_camel(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    """ "XaTanThanhHuyenThuThuaLongAn"."""
    w, district, province = old_unit(lists, rng)
    words = [w[4] + " " + w[3], district[4] + " " + district[3]]
    if rng.random() < 0.5:
        words = [w[3], district[3]]
    if rng.random() < 0.6:
        words.append(province[2])
    return "".join(camel(x) for x in words), expected(lists, lists.old_successors(w[1], w[3]))


def hamlet_first(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    """ "thon3hailonghaihau", "KP2_TANPHU_Q7"."""
    w, district, province = old_unit(lists, rng)
    if w[3][-1].isdigit():
        return hamlet_first(lists, rng)
    head = rng.choice(HAMLET_WORDS) + str(rng.randint(1, 15))
    parts = [head, squash(w[3]), squash(district[3])]
    if rng.random() < 0.4:
        parts.append(squash(province[2]))
    sep = rng.choice(["", "", "_", "-", "."])
    return case(sep.join(parts), rng), expected(lists, lists.old_successors(w[1], w[3]))


def new_joined(lists: Lists, rng: random.Random) -> tuple[str, dict | None]:  # type: ignore[type-arg]
    """ "xanamdonglamdong", "PHUONGCUALONGHEAN": a 2025 commune and its province."""
    w = rng.choice(list(lists.wards.values()))
    province = lists.provinces[w[1]]
    if len(lists.new_same_name(w[1], w[3])) > 1:
        return new_joined(lists, rng)
    head = {"Xã": "xa", "Phường": "phuong", "Đặc khu": "dackhu"}[w[4]]
    text = (head if rng.random() < 0.6 else "") + squash(w[3]) + squash(province[2])
    return case(text, rng), {"province_code": w[1], "ward_code": w[0]}


KINDS = {
    "joined_marked": old_marked,
    "joined_bare": old_bare,
    "joined_camel": old_camel,
    "joined_hamlet": hamlet_first,
    "joined_new": new_joined,
}


def main() -> None:
    lists = Lists()
    rng = random.Random(SEED)
    rows, seen = [], set()
    for kind, make in KINDS.items():
        count = 0
        while count < PER_KIND:
            text, label = make(lists, rng)
            if text in seen:
                continue
            seen.add(text)
            count += 1
            record_id = f"joined-{kind}-{count:03d}"
            rows.append(
                {
                    "id": record_id,
                    "kind": kind,
                    "split": split_of(record_id),
                    "text": text,
                    "expected": label,
                }
            )
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"{len(rows)} cases -> {OUT}")


if __name__ == "__main__":
    main()
