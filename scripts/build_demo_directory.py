"""Write config/routing/demo_directory.csv.gz: demo units for every commune and province.

Every name starts with "[DEMO]". Contacts are fake but well formed: Telegram chat ids in
a negative range no real chat uses here (-100999xxxxxxxxx), and no phone numbers, so no
SMS can reach a real person. Border guard posts are given to communes of border provinces
named after a well-known border gate; this is demo data, not the real list of posts.

    python scripts/build_demo_directory.py
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from routing.directory import COLUMNS  # noqa: E402
from routing.geography import load_geography  # noqa: E402

BORDER_GATES = {
    "tan thanh",
    "mong cai 1",
    "lao cai",
    "bat xat",
    "muong khuong",
    "si ma cai",
    "tinh bien",
    "moc bai",
    "hoa lu",
    "cau treo",
    "lao bao",
    "bo y",
    "dong dang",
    "ta lung",
    "thanh thuy",
    "ma lu thang",
    "xa mat",
    "vinh xuong",
    "na meo",
}
# Provinces on the land border with China, Laos or Cambodia.
BORDER_PROVINCES = {
    4,
    8,
    11,
    12,
    14,
    15,
    20,
    22,
    38,
    40,
    42,
    44,
    46,
    48,
    51,
    52,
    66,
    68,
    75,
    80,
    82,
    91,
}


def main() -> None:
    from routing.geography.data import name_key

    geo = load_geography()
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
    for code, province in sorted(geo.provinces.items()):
        writer.writerow(
            [
                f"pp-{code}",
                "provincial_police",
                f"[DEMO] Công an {province.name}",
                code,
                "",
                f"-100999{code:03d}000001",
                "",
                "",
                "",
            ]
        )
        writer.writerow(
            [
                f"ps-{code}",
                "provincial_social_work_centre",
                f"[DEMO] Trung tâm Công tác xã hội {province.name}",
                code,
                "",
                f"-100999{code:03d}000002",
                "",
                "",
                "",
            ]
        )
    for code, ward in sorted(geo.wards.items()):
        writer.writerow(
            [
                f"cp-{code}",
                "commune_police",
                f"[DEMO] Công an {ward.name}",
                ward.province_code,
                code,
                f"-1009991{code:05d}1",
                "",
                "",
                "",
            ]
        )
        writer.writerow(
            [
                f"sw-{code}",
                "commune_social_worker",
                f"[DEMO] Cán bộ xã hội {ward.name}",
                ward.province_code,
                code,
                f"-1009991{code:05d}2",
                "",
                "",
                "",
            ]
        )
        if ward.province_code in BORDER_PROVINCES and name_key(ward.name) in BORDER_GATES:
            writer.writerow(
                [
                    f"bg-{code}",
                    "border_guard_post",
                    f"[DEMO] Đồn Biên phòng {ward.name}",
                    ward.province_code,
                    code,
                    f"-1009991{code:05d}3",
                    "",
                    "",
                    "",
                ]
            )
    target = REPO / "config" / "routing" / "demo_directory.csv.gz"
    with gzip.GzipFile(target, "wb", mtime=0) as stream:
        stream.write(out.getvalue().encode())
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
