"""Use cases of the listings package. Services flush; the request or job commits."""
from listings.service.assets import (  # noqa: F401
    CHECKLIST_ITEMS,
    EVIDENCE_KINDS,
    AssetInput,
    EncumbranceInput,
    add_authorisation,
    add_encumbrance,
    add_right_holding,
    automatic_checks,
    can_download,
    document_path,
    register_asset,
    remove_right_holding,
    request_review,
    review_asset,
    set_owner,
    update_encumbrance,
    upload_evidence,
)
from listings.service.common import PUBLIC_STATES, can_view_listing, load_asset, load_listing  # noqa: F401
from listings.service.lifecycle import (  # noqa: F401
    ON_PUBLICITY_END,
    ListingTerms,
    apply_due,
    approve_below_appraisal,
    create_listing,
    due_listing_refs,
    get_listing_for,
    publish_listing,
    qualified_count,
    reject_listing,
    relist,
    resume_listing,
    submit_listing,
    suspend_listing,
    terminate_listing,
    update_terms,
    withdraw_listing,
)
from listings.service.open_licences import (  # noqa: F401
    ON_TAKEN,
    OpenLicenceInput,
    declare_open_licence,
    load_declaration,
    take_open_licence,
    withdraw_open_licence,
)
from listings.service.pricing import (  # noqa: F401
    AppraisalInput,
    add_valuation,
    current_appraisal,
    latest_valuations,
    record_appraisal,
    reference_band_for,
)
from listings.service.registrations import (  # noqa: F401
    ON_REGISTERED,
    decide_registration,
    deposit_policy,
    load_registration,
    mark_deposit_paid,
    register_interest,
    registrations_of,
    visible_registration,
    withdraw_registration,
)
from listings.service.search import CatalogueQuery, search_catalogue  # noqa: F401
