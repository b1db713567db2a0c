"""Write config/routing/demo_directory.csv.gz: demo units for every commune and province.

    python scripts/build_demo_directory.py [--out FILE]   (.csv.gz by default; .csv plain)

What it contains, deterministically, from the geography snapshot in config/geography:
- `supervisor`: one hotline_supervisor;
- `pp-<province>`, `ps-<province>`: provincial police and provincial social-work centre;
- `cp-<ward>`, `sw-<ward>`: commune police and commune social worker for every commune;
- `bg-<ward>`: a border guard post for each commune in BORDER_GATES below: the 2025 commune
  holding a well-known international land border gate with China, Laos or Cambodia. This
  is a demo list, not the real list of border guard posts (there are many more).

Every name starts with "[DEMO]". Contacts are fake but well formed:
- Telegram chat ids -100999PPP00000K (provinces, supervisor) and -1009991WWWWWK (communes),
  far above the supergroup ids Telegram hands out; and a bot can post only to chats it was
  added to, so even a real bot token cannot reach anyone with them.
- No phone numbers: the Vietnamese numbering plan has no range reserved for fiction, so any
  valid +84 number may belong to a real person. SMS is therefore never used for demo units.
- The supervisor's e-mail is on the reserved `.invalid` domain (RFC 2606).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from routing.directory import COLUMNS  # noqa: E402
from routing.geography import Geography, load_geography  # noqa: E402

DEFAULT_OUT = REPO / "config" / "routing" / "demo_directory.csv.gz"
# (province code, 2025 commune name, border gate): checked against the snapshot on build.
BORDER_GATES: tuple[tuple[int, str, str], ...] = (
    (4, "Xã Trà Lĩnh", "Trà Lĩnh"),
    (4, "Xã Phục Hòa", "Tà Lùng"),
    (8, "Xã Thanh Thủy", "Thanh Thủy"),
    (8, "Xã Xín Mần", "Xín Mần"),
    (11, "Xã Sam Mứn", "Tây Trang"),
    (12, "Xã Phong Thổ", "Ma Lù Thàng"),
    (14, "Xã Lóng Sập", "Lóng Sập"),
    (14, "Xã Chiềng Khương", "Chiềng Khương"),
    (15, "Phường Lào Cai", "Lào Cai"),
    (15, "Xã Bát Xát", "Bát Xát"),
    (15, "Xã Mường Khương", "Mường Khương"),
    (15, "Xã Si Ma Cai", "Si Ma Cai"),
    (20, "Xã Đồng Đăng", "Hữu Nghị"),
    (20, "Xã Hoàng Văn Thụ", "Tân Thanh"),
    (22, "Phường Móng Cái 1", "Bắc Luân II"),
    (22, "Phường Móng Cái 2", "Móng Cái (Bắc Luân)"),
    (22, "Xã Hoành Mô", "Hoành Mô"),
    (38, "Xã Na Mèo", "Na Mèo"),
    (40, "Xã Nậm Cắn", "Nậm Cắn"),
    (42, "Xã Sơn Kim 1", "Cầu Treo"),
    (44, "Xã Lao Bảo", "Lao Bảo"),
    (44, "Xã Dân Hóa", "Cha Lo"),
    (48, "Xã La Êê", "Nam Giang"),
    (51, "Xã Bờ Y", "Bờ Y"),
    (52, "Xã Ia Dom", "Lệ Thanh"),
    (66, "Xã Ea Bung", "Đắk Ruê"),
    (68, "Xã Quảng Trực", "Bu Prăng"),
    (75, "Xã Lộc Thành", "Hoa Lư"),
    (80, "Xã Tân Lập", "Xa Mát"),
    (80, "Xã Bến Cầu", "Mộc Bài"),
    (80, "Xã Bình Hiệp", "Bình Hiệp"),
    (82, "Xã Tân Hộ Cơ", "Dinh Bà"),
    (82, "Xã Thường Phước", "Thường Phước"),
    (91, "Xã Vĩnh Xương", "Vĩnh Xương"),
    (91, "Phường Tịnh Biên", "Tịnh Biên"),
    (91, "Phường Hà Tiên", "Hà Tiên (Xà Xía)"),
)


def border_posts(geography: Geography) -> dict[int, str]:
    """ward code -> border gate, for the communes of BORDER_GATES; fails on a stale entry."""
    found: dict[int, str] = {}
    for province, name, gate in BORDER_GATES:
        codes = [
            code
            for code in geography.wards_of_province.get(province, [])
            if geography.wards[code].name == name
        ]
        if len(codes) != 1:
            raise SystemExit(f"border gate {gate}: {name} in province {province}: {codes}")
        found[codes[0]] = gate
    return found


def build(geography: Geography) -> str:
    """The demo directory CSV text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow(
        [
            "supervisor",
            "hotline_supervisor",
            "[DEMO] Giám sát viên Tổng đài 111",
            "",
            "",
            "-100999000000000",
            "",
            "",
            "supervisor@demo.invalid",
        ]
    )
    for code, province in sorted(geography.provinces.items()):
        for prefix, kind, name, digit in (
            ("pp", "provincial_police", "Công an", 1),
            ("ps", "provincial_social_work_centre", "Trung tâm Công tác xã hội", 2),
        ):
            chat = f"-100999{code:03d}00000{digit}"
            row = [f"{prefix}-{code}", kind, f"[DEMO] {name} {province.name}", code, ""]
            writer.writerow([*row, chat, "", "", ""])
    posts = border_posts(geography)
    for code, ward in sorted(geography.wards.items()):
        for prefix, kind, name, digit in (
            ("cp", "commune_police", "Công an", 1),
            ("sw", "commune_social_worker", "Cán bộ xã hội", 2),
            ("bg", "border_guard_post", f"Đồn Biên phòng cửa khẩu {posts.get(code)},", 3),
        ):
            if prefix == "bg" and code not in posts:
                continue
            chat = f"-1009991{code:05d}{digit}"
            row = [f"{prefix}-{code}", kind, f"[DEMO] {name} {ward.name}", ward.province_code]
            writer.writerow([*row, code, chat, "", "", ""])
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    data = build(load_geography()).encode("utf-8")
    if args.out.suffix == ".gz":
        with gzip.GzipFile(args.out, "wb", mtime=0) as stream:  # mtime 0: same bytes each run
            stream.write(data)
    else:
        args.out.write_bytes(data)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
