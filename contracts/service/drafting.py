"""The contract text, generated from the deal, its parties, the asset and the listing terms.

Deterministic: the same records give the same text, character for character, so
its SHA-256 identifies it. Chinese, with the key labels in English. The text is
blocks separated by blank lines: a heading block, the parties, then one block
per article starting ``第N条``; ``clauses_of`` reads the articles back for the PDF.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from auctions.models import Deal, DealMethod
from contracts.domain import ContractSubtype, ContractType, classify_deal
from contracts.service import labels as lb
from exchange.clock import local_date
from exchange.models import Party
from exchange.money import Money
from listings.domain import LICENCE_MODES, TradingMode
from listings.fields import TECH_FIELDS

EXCHANGE_NAME = "上海技术交易所"
PAYMENT_WORKING_DAYS = 5  # DOMAIN §5: lump sum within 5 working days of the contract taking effect
TRANSFER_WORKING_DAYS = 10

_ARTICLE = re.compile(r"^第[一二三四五六七八九十百零]+条\s*")
_CN_DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True)
class ItemLine:
    description: str
    amount_fen: int


def _cn_number(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def _zh(label: str) -> str:
    return label.split(" ", 1)[0]


def _en(label: str) -> str:
    return label.split(" ", 1)[1] if " " in label else label


def classify(deal: Deal) -> tuple[ContractType, ContractSubtype]:
    return classify_deal(deal.mode.value, deal.asset.kind.value)


def contract_title(ctype: ContractType, subtype: ContractSubtype) -> str:
    t, s = lb.label(lb.CONTRACT_TYPE, ctype), lb.label(lb.SUBTYPE, subtype)
    return f"{_zh(t)}（{_zh(s)}）合同 {_en(t).title()} Contract ({_en(s)})"


def money(fen: int, currency: str = "CNY") -> str:
    return Money(fen, currency).format()


def _party_block(role: str, side: str, p: Party) -> str:
    kind = "统一社会信用代码 Credit code" if p.kind.value == "organisation" else "身份证号 ID number"
    return (f"{role}（{side}）：{p.name}\n"
            f"{kind}：{p.id_code}\n"
            f"地区代码 Region：{p.region_code}；主体类型 Entity type：{lb.label(lb.ENTITY_TYPE, p.entity_type)}")


def _terms(deal: Deal) -> dict:
    return deal.terms or {}


def licence_months(deal: Deal) -> int | None:
    months = _terms(deal).get("licence_term_months")
    return int(months) if isinstance(months, int) and months > 0 else None


def open_licence_term(deal: Deal) -> tuple[date, date] | None:
    t = _terms(deal)
    if t.get("term_start") and t.get("term_end"):
        return date.fromisoformat(t["term_start"]), date.fromisoformat(t["term_end"])
    return None


def _scope(deal: Deal) -> str:
    mode = deal.mode
    lines = [f"交易方式 Mode：{lb.label(lb.MODE, mode)}。"]
    if mode in (TradingMode.ASSIGNMENT, TradingMode.CAPITAL_CONTRIBUTION):
        if mode is TradingMode.CAPITAL_CONTRIBUTION:
            lines.append("甲方以上述技术成果作价出资，权利全部转移至乙方。 Party A contributes the technology as capital; "
                         "all rights pass to Party B.")
        else:
            lines.append("甲方将上述权利全部转让给乙方，转让后甲方不再享有该权利。 All rights pass to Party B; "
                         "Party A keeps none.")
        return "\n".join(lines)
    term = open_licence_term(deal)
    months = licence_months(deal)
    if term is not None:
        lines.append(f"许可期限 Term：{term[0].isoformat()} 至 {term[1].isoformat()}。")
    elif months is not None:
        lines.append(f"许可期限 Term：自本合同生效之日起{months}个月 {months} months from the contract taking effect。")
    else:
        lines.append("许可期限 Term：至专利权期限届满 Until the right expires。")
    territory = _terms(deal).get("territory") or "中华人民共和国境内 Mainland China"
    lines.append(f"许可地域 Territory：{territory}。")
    exclusivity = {
        TradingMode.EXCLUSIVE_LICENCE: "许可期内，甲方及任何第三方均不得在上述地域内实施该技术。 Exclusive: nobody else, "
                                       "Party A included, may use it.",
        TradingMode.SOLE_LICENCE: "许可期内，甲方不得再许可第三方实施，但甲方自己可以实施。 Sole: Party A may use it but "
                                  "license nobody else.",
    }.get(mode, "甲方可以自行实施，并可以许可第三方实施。 Non-exclusive: Party A may use it and license others.")
    lines.append(f"独占性 Exclusivity：{exclusivity}")
    if mode is TradingMode.OPEN_LICENCE:
        t = _terms(deal)
        lines.append(f"本许可依甲方开放许可声明 {t.get('open_licence', '')} 取得（专利法第五十条）。 Granted under the "
                     f"open licence declaration (Patent Law art. 50).")
        if t.get("royalty_rate"):
            lines.append(f"提成费率 Royalty rate：{t['royalty_rate']}。")
    return "\n".join(lines)


def _price(deal: Deal, items: list[ItemLine], deposit_fen: int) -> str:
    cur = deal.currency
    lines = [f"成交价款 Price：{money(deal.price_fen, cur)}（{cur}）。"]
    if deal.method is DealMethod.OPEN_LICENCE:
        lines.append("乙方按开放许可声明载明的方式和标准支付许可使用费，通过本所结算账户支付。 Party B pays the fees "
                     "the declaration states, through the Exchange's settlement account.")
    else:
        if deposit_fen > 0:
            lines.append(f"乙方已缴纳的交易保证金 {money(deposit_fen, cur)} 转作价款的一部分。 Party B's deposit is "
                         f"applied to the price.")
        lines.append(f"乙方应自本合同生效之日起{PAYMENT_WORKING_DAYS}个工作日内，将价款（扣除转作价款的保证金）一次性"
                     f"支付至{EXCHANGE_NAME}结算账户；本所在甲方履行转让义务后向甲方划付价款。 Party B pays the price "
                     f"(less the applied deposit) in one sum into the Exchange's settlement account within "
                     f"{PAYMENT_WORKING_DAYS} working days of this contract taking effect; the Exchange pays Party A "
                     f"once the transfer is confirmed.")
    lines.append("双方按本所收费标准各自承担交易服务费。 Each side pays its service fee by the Exchange's schedule.")
    if items:
        lines.append("价款中的非技术性项目 Non-technical items in the price：")
        total = 0
        for n, item in enumerate(items, start=1):
            lines.append(f"  {n}. {item.description}：{money(item.amount_fen, cur)}")
            total += item.amount_fen
        lines.append(f"  非技术性项目合计 Total：{money(total, cur)}")
        lines.append(f"技术交易额 Technology transaction amount：{money(deal.price_fen - total, cur)}。")
    else:
        lines.append("价款中无非技术性项目。 The price contains no non-technical items.")
        lines.append(f"技术交易额 Technology transaction amount：{money(deal.price_fen, cur)}。")
    return "\n".join(lines)


def _obligations(deal: Deal) -> str:
    mode, kind = deal.mode, deal.asset.kind.value
    n = TRANSFER_WORKING_DAYS
    if mode in LICENCE_MODES:
        text = (f"甲方应自本合同生效之日起{n}个工作日内，向乙方交付实施该技术所需的全部技术资料，并提供必要的技术指导。"
                f" Party A hands over the documents needed to use the technology within {n} working days and gives "
                f"the necessary guidance.")
        if kind in ("invention_patent", "utility_model", "design_patent"):
            text += ("\n双方应自本合同生效之日起3个月内向国家知识产权局办理专利实施许可合同备案。 The parties file the "
                     "licence with CNIPA within 3 months.")
        return text
    if kind == "technical_secret":
        return (f"甲方应自本合同生效之日起{n}个工作日内，向乙方交付全部技术资料并提供必要的技术指导，使乙方掌握该技术；"
                f"此后甲方不得再使用或向他人披露该技术秘密。 Party A hands over all documents within {n} working days "
                f"and trains Party B; afterwards it neither uses nor discloses the secret.")
    patent = kind in ("invention_patent", "utility_model", "design_patent", "patent_application_right")
    registry_zh, registry_en = ("国家知识产权局", "CNIPA") if patent else ("主管登记机关", "the competent registry")
    return (f"甲方应自本合同生效之日起{n}个工作日内，会同乙方向{registry_zh}办理权利人变更（著录项目变更）手续，并交付全部"
            f"技术资料。变更登记完成后，本所向甲方划付价款。 Party A files the change of owner with {registry_en} "
            f"within {n} working days and hands over all documents; the Exchange pays Party A out once the change is "
            f"recorded.")


_STANDARD = (
    ("保密 Confidentiality", "双方对在履行本合同过程中知悉的对方商业秘密和技术秘密负有保密义务，该义务在本合同终止后继续有效。 "
                            "Both keep each other's secrets, also after the contract ends."),
    ("违约责任 Liability", "乙方未按期支付价款的，其交易保证金不予退还，并承担违约责任；甲方未按约履行转让义务的，应退还已收价款"
                         "并承担违约责任。 A buyer that does not pay in time forfeits its deposit and is liable; a seller "
                         "that does not transfer refunds what it received and is liable."),
    ("争议解决 Disputes", "因本合同发生的争议，双方协商解决；协商不成的，提交上海仲裁委员会仲裁。 Disputes the parties cannot "
                        "settle go to the Shanghai Arbitration Commission."),
    ("合同生效 Effect", f"本合同经甲乙双方通过{EXCHANGE_NAME}交易系统签署后生效。签署即表示签署方同意本合同文本的全部内容，"
                      f"以文本的SHA-256指纹为准。 The contract takes effect when both parties have signed it in the "
                      f"Exchange's system; a signature consents to this exact text, identified by its SHA-256."),
)


def generate(ref: str, deal: Deal, items: list[ItemLine], *, deposit_fen: int = 0) -> tuple[str, str]:
    """(title, text) of the contract ``ref`` for ``deal``."""
    ctype, subtype = classify(deal)
    title = contract_title(ctype, subtype)
    asset = deal.asset
    head = [title,
            f"合同编号 Contract No.：{ref}",
            f"成交编号 Deal No.：{deal.ref}" + (f"；挂牌项目 Listing No.：{deal.listing.ref}" if deal.listing else ""),
            f"成交日期 Deal struck：{local_date(deal.struck_at).isoformat()}；交易方式 Trading method："
            f"{lb.DEAL_METHOD.get(deal.method.value, deal.method.value)}"]
    parties = "\n".join([_party_block(lb.seller_role(ctype), "甲方 Party A", deal.seller),
                         _party_block(lb.buyer_role(ctype), "乙方 Party B", deal.buyer)])
    field_zh, field_en = TECH_FIELDS.get(asset.technical_field, (asset.technical_field, asset.technical_field))
    ident = f"，号码 No. {asset.number}" if asset.number else ""
    verb = "许可乙方实施" if deal.mode in LICENCE_MODES else "转让给乙方"
    subject = (f"甲方将以下技术成果{verb}：{asset.title}（{lb.label(lb.ASSET_KIND, asset.kind)}{ident}；本所登记号 "
               f"Exchange ref. {asset.ref}）。\n技术领域 Technical field：{field_zh} {field_en}。")
    articles = [("合同标的 Subject", subject), ("交易方式与范围 Mode and scope", _scope(deal)),
                ("价款与支付 Price and payment", _price(deal, items, deposit_fen)),
                ("转让义务 Transfer obligations", _obligations(deal)), *_STANDARD]
    blocks = ["\n".join(head), parties]
    for n, (heading, body) in enumerate(articles, start=1):
        blocks.append(f"第{_cn_number(n)}条 {heading}\n{body}")
    return title, "\n\n".join(blocks) + "\n"


def clauses_of(text: str) -> tuple[str, ...]:
    """The articles of a contract text, without their ``第N条`` numbers (the PDF numbers them)."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    articles = [_ARTICLE.sub("", b) for b in blocks if _ARTICLE.match(b)]
    return tuple(articles) if articles else tuple(blocks[1:] or blocks)


def scope_line(deal: Deal) -> str:
    """The scope in one line for the PDF's key terms."""
    return " ".join(line for line in _scope(deal).splitlines()[1:]) or lb.label(lb.MODE, deal.mode)


def payment_line(deal: Deal) -> str:
    if deal.method is DealMethod.OPEN_LICENCE:
        return "按开放许可声明支付 As the open licence declaration states"
    return (f"生效后{PAYMENT_WORKING_DAYS}个工作日内一次性支付至本所结算账户 Lump sum into the Exchange's settlement "
            f"account within {PAYMENT_WORKING_DAYS} working days")
