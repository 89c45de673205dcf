"""Contracts and signing, technology contract registration (认定登记), transaction certificates (交易凭证) and their PDFs, and auditor exports."""
