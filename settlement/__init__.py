"""Settlement (结算) and credit enhancement (增信): the double-entry ledger, deposits as holds, payments, fees, payouts, refunds, credit records, guarantees and pledges."""
