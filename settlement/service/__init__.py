"""Use cases of the settlement package. Services flush; the request or job commits.

Importing this package wires settlement into the listings and auctions hooks
(see ``settlement.service.hooks``).
"""
from settlement.service import credit, fees, holds, ledger, obligations, payments, payouts, pledges, reports  # noqa: F401
from settlement.service.common import DEFAULT_SETTINGS, get_settings, update_settings  # noqa: F401
from settlement.service.credit import (  # noqa: F401
    add_manual_event,
    create_instrument,
    credit_record,
    instruments_of,
    load_instrument,
    revoke_instrument,
    update_instrument,
)
from settlement.service.fees import add_schedule, fees_for_price, quote as fee_quote, schedules  # noqa: F401
from settlement.service.holds import (  # noqa: F401
    deposit_policy,
    deposit_quote,
    fund_from_cash,
    load_hold,
    request_release,
    settle_due_holds,
)
from settlement.service.ledger import reverse_entry, verify_ledger  # noqa: F401
from settlement.service.obligations import (  # noqa: F401
    flag_overdue,
    load_settlement,
    pay_from_cash,
    set_instalment_plan,
)
from settlement.service.payments import (  # noqa: F401
    NotificationInput,
    load_notification,
    match_notification,
    receive_notification,
    return_notification,
)
from settlement.service.payouts import confirm_transfer, pay_out, refund  # noqa: F401
from settlement.service.pledges import PledgeInput, check_pledges_allow, consent, create_pledge  # noqa: F401
from settlement.service.pledges import release as release_pledge  # noqa: F401
from settlement.service.reports import confirmations_for_deal, confirmations_for_listing  # noqa: F401
from settlement.service.hooks import wire as _wire

_wire()

from settlement.service.status import deal_status  # noqa: E402,F401  (asked by contracts)
