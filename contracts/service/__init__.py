"""Use cases of the contracts package. Services flush; the request or job commits.

Importing the package wires the deal hooks (``hooks.wire``): a struck deal gets its
contract, a defaulted deal's contract is cancelled or terminated.
"""
from contracts.service import hooks as _hooks
from contracts.service.certificates import (  # noqa: F401
    CertificateQuery,
    certificate_data,
    certificate_of_deal,
    issue_certificate,
    list_certificates,
    load_certificate,
    readiness,
    revoke_certificate,
    verify_code,
    visible_certificate,
)
from contracts.service.contracts import (  # noqa: F401
    ON_SELLER_FAILED_TO_SIGN,
    ContractQuery,
    ItemInput,
    apply_signing_deadline,
    contract_for_deal,
    contract_of_deal,
    draft_contract,
    edit_text,
    list_contracts,
    load_contract,
    overdue_deal_refs,
    regenerate_text,
    set_non_technical_items,
    sign_contract,
    technology_amount_of,
    terminate_contract,
    visible_contract,
)
from contracts.service.documents import certificate_pdf, contract_pdf, registration_pdf  # noqa: F401
from contracts.service.exports import (  # noqa: F401
    build_bundle,
    bundle_name,
    contracts_csv,
    contracts_xlsx,
    verify_bundle,
)
from contracts.service.records import verify_records  # noqa: F401
from contracts.service.registration import (  # noqa: F401
    RegistrationQuery,
    RegistrationSubmission,
    cancel_registration,
    deadline_status,
    flag_overdue,
    list_registrations,
    load_registration,
    overdue_refs,
    problems_of,
    refuse,
    register,
    register_change,
    submit_registration,
    update_review,
    visible_registration,
)
from contracts.service.settlement_link import deal_money_status  # noqa: F401

_hooks.wire()
