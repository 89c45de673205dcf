"""Technical fields (技术领域) used to classify assets, listings and registrations."""
from __future__ import annotations

from exchange.errors import ValidationError

TECH_FIELDS: dict[str, tuple[str, str]] = {
    "electronic_information": ("电子信息", "Electronic information"),
    "integrated_circuits": ("集成电路", "Integrated circuits"),
    "artificial_intelligence": ("人工智能", "Artificial intelligence"),
    "advanced_manufacturing": ("先进制造", "Advanced manufacturing"),
    "biomedicine": ("生物医药", "Biomedicine"),
    "new_materials": ("新材料", "New materials"),
    "new_energy": ("新能源与节能", "New energy and energy saving"),
    "environmental": ("资源与环境", "Resources and environment"),
    "agriculture": ("现代农业", "Modern agriculture"),
    "aerospace": ("航空航天", "Aerospace"),
    "other": ("其他", "Other"),
}


def check_field(code: str) -> str:
    if code not in TECH_FIELDS:
        raise ValidationError("Unknown technical field %(code)r.", params={"code": code},
                              code="unknown_technical_field", field="technical_field",
                              details={"allowed": sorted(TECH_FIELDS)})
    return code


def field_label(code: str, lang: str = "zh") -> str:
    zh, en = TECH_FIELDS.get(code, (code, code))
    return zh if lang == "zh" else en
