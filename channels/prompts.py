"""What the hotline says to tipsters on chat channels and the phone, Vietnamese first."""

from __future__ import annotations

import re

WELCOME = (
    "Tổng đài 111 – Bảo vệ trẻ em và phòng, chống mua bán người. Bạn hãy nhắn: chuyện gì "
    "đang xảy ra, ở đâu (thôn/xóm, xã/phường, tỉnh), trẻ bao nhiêu tuổi. Thông tin của bạn "
    "được giữ bí mật. Nếu có người đang gặp nguy hiểm, hãy gọi ngay 111.\n"
    "Hotline 111 – child protection and anti-trafficking. Tell us what is happening and "
    "where. If someone is in danger now, call 111."
)
HELP = (
    "Gửi tin nhắn mô tả sự việc và địa điểm; bạn có thể gửi vị trí (Location). Mã tin báo "
    "giúp bạn bổ sung thông tin sau. /start để bắt đầu.\n"
    "Send a message about what happened and where; you can share your location."
)
RECEIVED = (
    "Tổng đài 111 đã nhận tin báo của bạn. Mã tin báo: {reference}. Cán bộ sẽ liên hệ lại "
    "nếu cần. Nếu có người đang gặp nguy hiểm, hãy gọi 111.\n"
    "Hotline 111 received your report. Reference: {reference}."
)
ASK_PLACE = (
    "Việc này xảy ra ở đâu? Hãy cho biết thôn/xóm, xã/phường và tỉnh/thành phố, hoặc gửi vị "
    "trí. (Where is this happening? Commune and province, or share a location.)"
)
UNSUPPORTED = (
    "Tổng đài 111 chưa đọc được loại tin này. Hãy nhắn bằng chữ hoặc gọi 111. "
    "(We cannot read this kind of message yet: please write, or call 111.)"
)

_ACK = re.compile(
    r"^\s*(?:ok|oke|okay|da nhan|đã nhận|nhan|nhận|xac nhan|xác nhận|ack)\b[\s:,.-]*"
    r"(111-\d{4}-\d{3,6})\b",
    re.IGNORECASE,
)


def ack_reference(text: str) -> str | None:
    """The incident reference in a responder's reply such as "OK 111-2607-0042"."""
    match = _ACK.match(text or "")
    return match.group(1) if match else None


# What a unit can report about an alert, by button or as the first words of a reply:
# code -> (Vietnamese, English). The incident closes only when the hotline decides.
UNIT_OUTCOMES: dict[str, tuple[str, str]] = {
    "received": ("Đã nhận", "Received"),
    "verifying": ("Đang xác minh", "Verifying"),
    "on_site": ("Đã đến nơi", "On site"),
    "handled": ("Đã xử lý", "Handled"),
    "unverified": ("Không xác minh được", "Could not verify"),
    "referred": ("Chuyển cơ quan khác", "Referred elsewhere"),
}
