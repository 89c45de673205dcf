"""What other packages may know about a deal's money, in one answer.

The contracts package asks this before issuing a transaction certificate
(交易凭证): the price must be in the settlement account and both sides' fees paid.
The buyer pays its fee in cash; the seller's fee is withheld from the price the
exchange holds in escrow, so it is secured the moment the price is in. That lets
the certificate come before the payout, as it must: the seller needs it to record
the transfer at the patent office, and the payout waits for that recording.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from settlement.models import DealSettlement


def deal_status(session: Session, deal: Any) -> dict[str, bool]:
    st = session.scalar(sa.select(DealSettlement).where(DealSettlement.deal_id == deal.id))
    if st is None:
        return {"price_received": False, "buyer_fee_paid": False, "seller_fee_paid": False, "settled": False}
    price_in = st.price_in_at is not None
    return {
        "price_received": price_in,
        "buyer_fee_paid": st.fee_paid_fen >= st.buyer_fee_fen,
        "seller_fee_paid": price_in and st.price_fen >= st.seller_fee_fen,
        "settled": st.paid_out_at is not None,
    }
