"""Write addresses_fresh.jsonl: addresses written by hand in the forms of issue 23, labelled
from the official lists.

    python tests/data/locations/fresh.py

Each text is written by hand; its label is computed, not typed: an old unit is given as
(commune, district, old province) and carried through the official old-to-new map (a split
old commune labels null: the text cannot say which successor), a 2025 one as (commune,
province), None where no commune can be told. `split` is fixed by a hash of the id: the
"untouched" fifth is never looked at case by case while tuning.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
UNITS = HERE.parents[2] / "config" / "geography" / "units.json.gz"
OUT = HERE / "addresses_fresh.jsonl"

Old = tuple[str, str, str]  # commune, district, old province ("" when any)
New = tuple[str, str]  # 2025 commune, province

CASES: dict[str, list[tuple[str, Old | New | None]]] = {
    "run_together": [
        ("phuongbenthanhquan1", ("Bến Thành", "Quận 1", "Hồ Chí Minh")),
        ("PHUONGLOCPHATTPBAOLOC", ("Lộc Phát", "Bảo Lộc", "Lâm Đồng")),
        ("xaphuocngaihuyenbatri", ("Phước Ngãi", "Ba Tri", "Bến Tre")),
        ("XuanGiangQuangBinhHaGiang", ("Xuân Giang", "Quang Bình", "Hà Giang")),
        ("baokhe_tphungyen", ("Bảo Khê", "Thành phố Hưng Yên", "Hưng Yên")),
        ("HOANGHOATHAM-ANTHI-HUNGYEN", ("Hoàng Hoa Thám", "Ân Thi", "Hưng Yên")),
        ("tt.hungson.daitu.thainguyen", ("Hùng Sơn", "Đại Từ", "Thái Nguyên")),
        ("xayenson tamdiep ninhbinh", ("Yên Sơn", "Tam Điệp", "Ninh Bình")),
        ("P.CHILANG_TX.TINHBIEN_ANGIANG", ("Chi Lăng", "Tịnh Biên", "An Giang")),
        ("xatantrungphutanangiang", ("Tân Trung", "Phú Tân", "An Giang")),
        ("LONGPHUOC BENCAU TAYNINH", ("Long Phước", "Bến Cầu", "Tây Ninh")),
        ("phuonghunglongchonthanhbinhphuoc", ("Hưng Long", "Chơn Thành", "Bình Phước")),
        ("ttdongthanhduchuelongan", ("Đông Thành", "Đức Huệ", "Long An")),
        ("TRIBINH_CHAUTHANH_TAYNINH", ("Trí Bình", "Châu Thành", "Tây Ninh")),
        ("xathanhhung_tanhung_longan", ("Thạnh Hưng", "Tân Hưng", "Long An")),
        ("QueChauQueSonQuangNam", ("Quế Châu", "Quế Sơn", "Quảng Nam")),
        ("sonmyhamtanbinhthuan", ("Sơn Mỹ", "Hàm Tân", "Bình Thuận")),
        ("quangtrung_anlao_haiphong", ("Quang Trung", "An Lão", "Hải Phòng")),
        ("QUANGMINH-BACQUANG", ("Quang Minh", "Bắc Quang", "Hà Giang")),
        ("xatraka_bactramy", ("Trà Ka", "Bắc Trà My", "Quảng Nam")),
        ("vinhthanh nhatrang khanhhoa", ("Vĩnh Thạnh", "Nha Trang", "Khánh Hòa")),
        ("phuonganduongquanlechan", ("An Dương", "Lê Chân", "Hải Phòng")),
        ("xacongly_lynhan_hanam", ("Công Lý", "Lý Nhân", "Hà Nam")),
        ("DONGHAIDUYENHAITRAVINH", ("Đông Hải", "Huyện Duyên Hải", "Trà Vinh")),
        ("linhthongdinhhoa", ("Linh Thông", "Định Hóa", "Thái Nguyên")),
        ("HongPhongCaoLoc", ("Hồng Phong", "Cao Lộc", "Lạng Sơn")),
        ("tamquang_vuthu_thaibinh", ("Tam Quang", "Vũ Thư", "Thái Bình")),
        ("thachhai.tphatinh", ("Thạch Hải", "Thành phố Hà Tĩnh", "Hà Tĩnh")),
        ("XALELOI THACHAN CAOBANG", ("Lê Lợi", "Thạch An", "Cao Bằng")),
        ("pathomdienbien", ("Pa Thơm", "Huyện Điện Biên", "Điện Biên")),
        ("khanhcuongyenkhanhninhbinh", ("Khánh Cường", "Yên Khánh", "Ninh Bình")),
        ("hongduongthanhoaihanoi", ("Hồng Dương", "Thanh Oai", "Hà Nội")),
        ("thon3xahongduongthanhoai", ("Hồng Dương", "Thanh Oai", "Hà Nội")),
        ("XANAMDONGLAMDONG", ("Nam Dong", "Lâm Đồng")),
        ("phuongtanhunghcm", ("Tân Hưng", "Hồ Chí Minh")),
        ("PHUONGCUALONGHEAN", ("Cửa Lò", "Nghệ An")),
        ("xavithuycantho", ("Vị Thủy", "Cần Thơ")),
        ("kp3_p.tanphu_q7", ("Tân Phú", "Quận 7", "Hồ Chí Minh")),
        ("to5phuong12quantanbinh", ("Phường 12", "Tân Bình", "Hồ Chí Minh")),
        ("P15QGOVAP", ("Phường 15", "Gò Vấp", "Hồ Chí Minh")),
        ("f7q5tphcm", ("Phường 7", "Quận 5", "Hồ Chí Minh")),
        ("phuong4tpsoctrang", ("Phường 4", "Thành phố Sóc Trăng", "Sóc Trăng")),
        ("BinhHoaThuanAnBinhDuong", ("Bình Hòa", "Thuận An", "Bình Dương")),
        ("phuong3tx.cailay", None),
        ("dainai_tphatinh", None),
        ("daikimhoangmai", None),
        ("ApBinhHoaXaTriBinhHuyenChauThanhTayNinh", ("Trí Bình", "Châu Thành", "Tây Ninh")),
        ("thon 4 xa son my ham tan", ("Sơn Mỹ", "Hàm Tân", "Bình Thuận")),
        ("THONPHUOCLOC_XAQUECHAU_QUESON", ("Quế Châu", "Quế Sơn", "Quảng Nam")),
        ("TDP5HUNGSONDAITU", ("Hùng Sơn", "Đại Từ", "Thái Nguyên")),
        ("xomdong-linhthong-dinhhoa-thainguyen", ("Linh Thông", "Định Hóa", "Thái Nguyên")),
        ("xa-khanh-cuong-yen-khanh", ("Khánh Cường", "Yên Khánh", "Ninh Bình")),
        ("VinhThanh.NhaTrang", ("Vĩnh Thạnh", "Nha Trang", "Khánh Hòa")),
        ("tanthanhngabay", ("Tân Thành", "Ngã Bảy", "Hậu Giang")),
        ("phuongvantrungvietyenbacgiang", ("Vân Trung", "Việt Yên", "Bắc Giang")),
        ("an duong le chan hai phong", ("An Dương", "Lê Chân", "Hải Phòng")),
        ("LONGPHUSOCTRANG", ("Thị trấn Long Phú", "Long Phú", "Sóc Trăng")),
        ("hunglong chonthanh", ("Hưng Long", "Chơn Thành", "Bình Phước")),
        ("PHUOCHAO-CHAUTHANH-TRAVINH", ("Phước Hảo", "Châu Thành", "Trà Vinh")),
        ("xã hươngxuân,hươngkhê,hàtĩnh", ("Hương Xuân", "Hương Khê", "Hà Tĩnh")),
        ("DakLong_DakHa_KonTum", ("Đăk Long", "Đăk Hà", "Kon Tum")),
        ("dongtho tpthaibinh", ("Đông Thọ", "Thành phố Thái Bình", "Thái Bình")),
        ("THON5MINHSONHUULUNG", ("Minh Sơn", "Hữu Lũng", "Lạng Sơn")),
        ("ap3_thuanhoa_anminh_kiengiang", ("Thuận Hòa", "An Minh", "Kiên Giang")),
        ("xalongxuyenhbinhgiang", ("Long Xuyên", "Bình Giang", "Hải Dương")),
        ("HUNGDAO-TUKY-HAIDUONG", None),
        ("PhuHuu.ChauThanh.DongThap", ("Phú Hựu", "Châu Thành", "Đồng Tháp")),
        ("daohuucanhchauphuangiang", ("Đào Hữu Cảnh", "Châu Phú", "An Giang")),
        ("xason tien huyen huong son", ("Sơn Tiến", "Hương Sơn", "Hà Tĩnh")),
        ("tổ4_đồngtâm_bắcquang", ("Đồng Tâm", "Bắc Quang", "Hà Giang")),
        ("TANHOI DANPHUONG HN", ("Tân Hội", "Đan Phượng", "Hà Nội")),
        ("hoamytay_tayhoa_phuyen", ("Hòa Mỹ Tây", "Tây Hòa", "Phú Yên")),
        ("xatanphongcailaytiengiang", ("Tân Phong", "Huyện Cai Lậy", "Tiền Giang")),
        ("NHATHOA-BACSON", ("Nhất Hòa", "Bắc Sơn", "Lạng Sơn")),
        ("TTVUBAN_LACSON_HOABINH", ("Vụ Bản", "Lạc Sơn", "Hòa Bình")),
        ("binhmy bactanuyen binhduong", ("Bình Mỹ", "Bắc Tân Uyên", "Bình Dương")),
        ("xatanthinhtpyenbai", ("Tân Thịnh", "Thành phố Yên Bái", "Yên Bái")),
        ("DAKBLO DAKGLEI", ("Đăk Blô", "Đắk Glei", "Kon Tum")),
        ("PNamCuongTPLaoCai", ("Nam Cường", "Thành phố Lào Cai", "Lào Cai")),
        ("caoxatanyenbacgiang", ("Cao Xá", "Tân Yên", "Bắc Giang")),
        ("thon2_hoabac_hoavang_danang", ("Hòa Bắc", "Hòa Vang", "Đà Nẵng")),
        ("phuonganloctphongngu", ("An Lộc", "Thành phố Hồng Ngự", "Đồng Tháp")),
        ("thieuvan-tpthanhhoa", ("Thiệu Vân", "Thành phố Thanh Hóa", "Thanh Hóa")),
        ("NGAVAN_NGASON_THANHHOA", ("Nga Văn", "Nga Sơn", "Thanh Hóa")),
        ("thaihocchilinh", ("Thái Học", "Chí Linh", "Hải Dương")),
        ("tt hiephoa duchoa longan", ("Thị trấn Hiệp Hòa", "Đức Hòa", "Long An")),
        ("YENDUONG_HATRUNG", ("Yên Dương", "Hà Trung", "Thanh Hóa")),
        ("xã minhtiến huyện hữulũng tỉnh lạngsơn", ("Minh Tiến", "Hữu Lũng", "Lạng Sơn")),
    ],
    "old_triple": [
        ("Hoàng Hoa Thám, Ân Thi, Hưng Yên", ("Hoàng Hoa Thám", "Ân Thi", "Hưng Yên")),
        ("Linh Thông, Định Hóa, Thái Nguyên", ("Linh Thông", "Định Hóa", "Thái Nguyên")),
        ("Pa Thơm, Điện Biên, Điện Biên", ("Pa Thơm", "Huyện Điện Biên", "Điện Biên")),
        ("Trà Ka - Bắc Trà My - Quảng Nam", ("Trà Ka", "Bắc Trà My", "Quảng Nam")),
        ("khanh cuong, yen khanh, ninh binh", ("Khánh Cường", "Yên Khánh", "Ninh Bình")),
        ("Quế Châu Quế Sơn Quảng Nam", ("Quế Châu", "Quế Sơn", "Quảng Nam")),
        ("Chính Nghĩa, Kim Động, Hưng Yên", ("Chính Nghĩa", "Kim Động", "Hưng Yên")),
        ("Hồng Phong, Cao Lộc, Lạng Sơn", ("Hồng Phong", "Cao Lộc", "Lạng Sơn")),
        ("Xuân Giang, Quang Bình, Hà Giang", ("Xuân Giang", "Quang Bình", "Hà Giang")),
        ("Bình Thuận, Tây Sơn, Bình Định", ("Bình Thuận", "Tây Sơn", "Bình Định")),
    ],
    "city_shorthand": [
        ("P4 TP Sóc Trăng", ("Phường 4", "Thành phố Sóc Trăng", "Sóc Trăng")),
        ("F12 Q.TB", ("Phường 12", "Tân Bình", "Hồ Chí Minh")),
        ("P.7 Q.5 TPHCM", ("Phường 7", "Quận 5", "Hồ Chí Minh")),
        ("p.tan phu q.7", ("Tân Phú", "Quận 7", "Hồ Chí Minh")),
        ("P11 Q.PN", ("Phường 11", "Phú Nhuận", "Hồ Chí Minh")),
        ("P.Lộc Phát TP.BL", ("Lộc Phát", "Bảo Lộc", "Lâm Đồng")),
        ("kp2 p.linh trung tp thu duc", ("Linh Trung", "Thủ Đức", "Hồ Chí Minh")),
        ("P.An Dương Q.LC HP", ("An Dương", "Lê Chân", "Hải Phòng")),
    ],
    "street_first": [
        ("12 Trần Hưng Đạo, An Dương, Lê Chân, Hải Phòng", ("An Dương", "Lê Chân", "Hải Phòng")),
        ("123 Hùng Vương phường Lộc Phát Bảo Lộc", ("Lộc Phát", "Bảo Lộc", "Lâm Đồng")),
        ("số 5 ngõ 3 Đại Kim, Hoàng Mai", None),
        ("tổ 4 đường Quang Trung, Hùng Sơn, Đại Từ", ("Hùng Sơn", "Đại Từ", "Thái Nguyên")),
        ("88 le loi vinh thanh nha trang", ("Vĩnh Thạnh", "Nha Trang", "Khánh Hòa")),
        ("45/2 Nguyễn Trãi, Bình Hòa, Thuận An", ("Bình Hòa", "Thuận An", "Bình Dương")),
    ],
    "old_province": [
        ("Tam Quang, Vũ Thư, Thái Bình", ("Tam Quang", "Vũ Thư", "Thái Bình")),
        ("xã Đông Thành, Long An", ("Đông Thành", "Đức Huệ", "Long An")),
        ("Sơn Mỹ, Hàm Tân, Bình Thuận", ("Sơn Mỹ", "Hàm Tân", "Bình Thuận")),
        ("Hưng Long Chơn Thành Bình Phước", ("Hưng Long", "Chơn Thành", "Bình Phước")),
        ("Công Lý, Lý Nhân, Hà Nam", ("Công Lý", "Lý Nhân", "Hà Nam")),
    ],
    "new": [
        ("xã Nam Dong, Lâm Đồng", ("Nam Dong", "Lâm Đồng")),
        ("La Lay, Quảng Trị", ("La Lay", "Quảng Trị")),
        ("phường Bắc Gianh tỉnh Quảng Trị", ("Bắc Gianh", "Quảng Trị")),
        ("Trung Mỹ Tây, TP.HCM", ("Trung Mỹ Tây", "Hồ Chí Minh")),
        ("xa thu bon da nang", ("Thu Bồn", "Đà Nẵng")),
        ("Ka Đô Lâm Đồng", ("Ka Đô", "Lâm Đồng")),
    ],
}


def fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower().strip()


_TYPE = re.compile(r"^(thanh pho|quan|huyen|thi xa|phuong|xa|thi tran|dac khu)\s+")


def bare(name: str) -> str:
    return _TYPE.sub("", fold(name))


def pick(rows: list, wanted: str, column: int) -> list:  # type: ignore[type-arg]
    """ "Huyện Duyên Hải" names only that district; "Bến Thành" any unit of that bare name."""
    exact = [r for r in rows if fold(r[column]) == fold(wanted)]
    return exact or [r for r in rows if bare(r[column]) == bare(wanted)]


def label(units: dict, spec: Old | New | None) -> dict | None:  # type: ignore[type-arg]
    if spec is None:
        return None
    if len(spec) == 2:
        commune, province = spec
        provinces = {p[0] for p in units["provinces"] if fold(p[2]) == fold(province)}
        found = [w for w in units["wards"] if w[1] in provinces and bare(w[2]) == bare(commune)]
        if len(found) != 1:
            raise ValueError(f"{spec}: {len(found)} 2025 communes")
        return {"province_code": found[0][1], "ward_code": found[0][0]}
    commune, district, province = spec
    old_provinces = {p[0] for p in units["old_provinces"] if fold(p[2]) == fold(province)}
    inside = [d for d in units["old_districts"] if d[1] in old_provinces]
    districts = {d[0] for d in pick(inside, district, 2)}
    olds = pick([w for w in units["old_wards"] if w[1] in districts], commune, 2)
    if len(olds) != 1:
        raise ValueError(f"{spec}: {len(olds)} old communes")
    successors = olds[0][7]
    if len(successors) != 1:
        return None  # a split old commune: the text cannot say which
    ward = next(w for w in units["wards"] if w[0] == successors[0])
    return {"province_code": ward[1], "ward_code": ward[0]}


def split_of(record_id: str) -> str:
    """One case in five is untouched, by a hash of its id (fixed)."""
    return "untouched" if hashlib.sha256(record_id.encode()).digest()[0] % 5 == 0 else "dev"


def main() -> None:
    with gzip.open(UNITS, "rt", encoding="utf-8") as stream:
        units = json.load(stream)
    rows = []
    for kind, cases in CASES.items():
        for number, (text, spec) in enumerate(cases, 1):
            record_id = f"fresh-{kind}-{number:03d}"
            rows.append(
                {
                    "id": record_id,
                    "kind": kind,
                    "split": split_of(record_id),
                    "text": text,
                    "expected": label(units, spec),
                }
            )
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"{len(rows)} cases -> {OUT}")


if __name__ == "__main__":
    main()
