"""Forms: how much a visitor must type before converting."""

import re

from auditor.facts import DeviceFacts
from auditor.rulebook import Category, Verdict, log_normal, rule

CATEGORY = Category("forms", "Forms", weight=15, order=5)


@rule(
    id="FRM001",
    name="long-form",
    title="Forms ask for little",
    failure_title="A form asks for too many fields",
    category="forms",
    weight=8,
    ease=5,
    per_device=False,
    thresholds={"p10_fields": 5, "median_fields": 10},
    recommendation="""Cut a lead or signup form to the fields you need to take the next step (often name and email),
    make the rest optional or ask for them later, and mark what is required. Each extra field is another chance
    to abandon (practitioner guidance); short email-collection forms are the best-converting method at about
    15% (industry research). A checkout cannot shrink that far: offer guest checkout (34% of shoppers who
    abandon do so when forced to create an account), fill the address from a postcode lookup, and keep it on
    one page, which reduces abandonment (practitioner guidance).""",
)
def long_form(facts: DeviceFacts, t: dict) -> Verdict | None:
    """The number of fields in the longest form (radio buttons that share a name count once).

    Why it matters: each extra field or step is another chance to abandon (practitioner guidance), while
    short email-collection forms convert at about 15% and signup forms on landing pages at about 23%
    (industry research).

    Scoring: a log-normal curve; `p10_fields` scores 90 and `median_fields` scores 50. Not applicable to a
    page without a form that has fields.
    """
    forms = [f for f in facts.forms if f.field_count > 0]
    if not forms:
        return None
    longest = max(forms, key=lambda f: f.field_count)
    checkout = sum(bool(CHECKOUT_FIELD.search(name)) for name in longest.fields) >= 2
    kind = " (a checkout: see the advice on guest checkout)" if checkout else ""
    return Verdict(
        log_normal(longest.field_count, t["p10_fields"], t["median_fields"]),
        f"The longest form has {longest.field_count} fields, {longest.required_count} of them required{kind}.",
        {"field_count": longest.field_count, "required_count": longest.required_count, "fields": longest.fields},
    )


# Field labels that make a form a checkout or an order form rather than a lead form.
CHECKOUT_FIELD = re.compile(r"address|post ?code|zip|city|town|card|cvc|cvv|expir|billing|shipping|delivery", re.I)
