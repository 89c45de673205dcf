"""Listings: technology assets, rights confirmation (确权), valuation and pricing (确价), listings and their publicity lifecycle, buyer registration, open licences and the catalogue."""
