"""How a company's industry shows in the free text a CRM holds: its name, its web domain and its
people's job titles.

Real company names and domains often carry their industry ("Summit Health", "atlasbank.com",
"cascade.edu") and titles often name an industry's departments ("Consultant, Underwriting");
many carry none. Each generated company gets one kind of signal, drawn from its own stream so
every other seeded value stays where it was, and the kind is written to the truth:

- `name`: an industry word in the name (and so in the domain made from it);
- `domain`: a generic name, but a domain that names the industry (a word or `.edu`/`.gov`);
- `title`: generic name and domain; most of its people's titles name an industry department;
- `misleading`: a name with another industry's word (real names mislead too);
- `none`: nothing in the text says the industry: a classifier must be unsure, not guess.

Outside `none`, some people's titles name a department of the true industry as well. The
department words avoid every word the fit rules read in a title (seniority, function, student),
so a title keeps its score and the person's propensity truth is unchanged.
"""

from __future__ import annotations

import numpy as np

SIGNAL_KINDS = ("none", "misleading", "name", "domain", "title")
SIGNAL_SHARES = (0.05, 0.02, 0.53, 0.25, 0.15)
# Of the people at a company with a signal, the share whose title names an industry department.
TITLE_SHARE = {"title": 0.9, "none": 0.0}
DEFAULT_TITLE_SHARE = 0.35

NAME_WORDS = {
    "Technology": ("Software", "Technologies", "Digital", "Networks", "Cloud", "Computing"),
    "Financial Services": ("Bank", "Capital", "Financial", "Insurance", "Trust", "Investments"),
    "Healthcare": ("Health", "Medical", "Hospital", "Clinic", "Pharma", "Healthcare"),
    "Manufacturing": ("Manufacturing", "Industries", "Metals", "Machinery", "Plastics", "Fabrication"),
    "Retail": ("Stores", "Outfitters", "Market", "Mart", "Goods", "Retail"),
    "Education": ("University", "College", "Academy", "Schools", "Learning", "Institute"),
    "Government": ("County", "Authority", "Municipality", "Agency", "Township", "Commission"),
    "Media": ("Media", "News", "Studios", "Broadcasting", "Publishing", "Pictures"),
}
# Public bodies are not "Inc": their names take no company suffix.
NO_SUFFIX = frozenset({"Education", "Government"})
TOP_LEVEL = {"Education": ".edu", "Government": ".gov"}
DOMAIN_MARKS = {
    "Technology": ("tech", "soft", "cloud", "dev"),
    "Financial Services": ("bank", "capital", "finance", "invest"),
    "Healthcare": ("health", "med", "care", "clinic"),
    "Manufacturing": ("mfg", "industrial", "metals", "works"),
    "Retail": ("shop", "store", "retail", "goods"),
    "Education": ("learn", "academy", "school", "campus"),
    "Government": ("county", "city", "state", "civic"),
    "Media": ("media", "news", "tv", "studios"),
}
DEPARTMENTS = {
    "Technology": ("Cloud Platform", "SaaS Products", "Developer Tools", "Cybersecurity"),
    "Financial Services": ("Wealth Management", "Lending", "Underwriting", "Treasury"),
    "Healthcare": ("Clinical Systems", "Patient Care", "Nursing", "Pharmacy"),
    "Manufacturing": ("Plant Operations", "Supply Chain", "Production", "Quality Assurance"),
    "Retail": ("Store Operations", "Merchandising", "E-commerce", "Category Planning"),
    "Education": ("Academic Affairs", "Admissions", "Curriculum", "Campus Services"),
    "Government": ("Public Works", "Municipal Services", "Public Safety", "Civic Programs"),
    "Media": ("Editorial", "Broadcast", "Newsroom", "Publishing"),
}


def company_text(seed: int, base_names: list[str], industries: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Each company's name, web domain and signal kind, from the generic `base_names`
    ("Acme Globex Inc") and the true industries."""
    rng = np.random.default_rng([seed, 8])
    n = len(base_names)
    kinds = rng.choice(len(SIGNAL_KINDS), size=n, p=SIGNAL_SHARES).tolist()
    picks = rng.integers(0, 6, (n, 3)).tolist()
    suffixed = (rng.random(n) < 0.6).tolist()
    labels = sorted(NAME_WORDS)
    names, domains, signal = [], [], []
    for base, industry, kind_index, pick, with_suffix in zip(
        base_names, industries, kinds, picks, suffixed, strict=True
    ):
        kind = SIGNAL_KINDS[kind_index]
        first, second, suffix = (base.split() + ["", ""])[:3]
        name, domain = base, f"{first}{second}".lower() + ".com"
        if kind in {"name", "misleading"}:
            shown = industry
            if kind == "misleading":
                others = [label for label in labels if label != industry]
                shown = others[pick[2] % len(others)]
            word = NAME_WORDS[shown][pick[0]]
            name = f"{first} {word}" + (f" {suffix}" if with_suffix and shown not in NO_SUFFIX and suffix else "")
            domain = f"{first}{word}".lower() + TOP_LEVEL.get(shown, ".com")
        elif kind == "domain":
            marks = DOMAIN_MARKS[industry]
            if industry in TOP_LEVEL and pick[1] % 2 == 0:
                domain = f"{first}{second}".lower() + TOP_LEVEL[industry]
            else:
                joiner = "-" if pick[1] % 3 == 0 else ""
                domain = f"{first}{second}".lower() + joiner + marks[pick[0] % len(marks)] + ".com"
        names.append(name)
        domains.append(domain)
        signal.append(kind)
    return names, domains, signal


def person_titles(
    seed: int, titles: list[str], company_of: list[int], industries: list[str], signal: list[str]
) -> list[str]:
    """Each person's title, for a share of people with their industry's department appended
    ("IT Manager, Clinical Systems"); the generic title is kept otherwise."""
    rng = np.random.default_rng([seed, 9])
    draws = rng.random(len(titles)).tolist()
    picks = rng.integers(0, 4, len(titles)).tolist()
    out = []
    for title, c, u, pick in zip(titles, company_of, draws, picks, strict=True):
        share = TITLE_SHARE.get(signal[c], DEFAULT_TITLE_SHARE)
        out.append(f"{title}, {DEPARTMENTS[industries[c]][pick]}" if u < share else title)
    return out
