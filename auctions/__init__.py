"""Auctions (竞价): ascending, sealed and descending bidding, negotiated transfers, and the deal (成交) through which every way of striking a deal passes."""
