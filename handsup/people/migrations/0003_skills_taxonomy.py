"""The skills taxonomy: the categories and skills volunteers pick from, with synonyms.

The data is frozen here, as it was when the taxonomy was first written; platform admins
edit and merge skills in the admin afterwards, so later changes never come back through
this file. Synonyms are what people type instead of a skill's name, in plain words,
abbreviations and the language's own name.
"""

from __future__ import annotations

import re

from django.db import migrations

# (slug, name, [(skill name, [synonyms])])
TAXONOMY: list[tuple[str, str, list[tuple[str, list[str]]]]] = [
    (
        "digital",
        "Digital",
        [
            ("Web development", ["web dev", "website building", "front end", "HTML and CSS"]),
            ("Website editing", ["WordPress", "CMS", "updating websites"]),
            ("Software development", ["programming", "coding", "developer", "Python"]),
            ("Data analysis", ["spreadsheets", "Excel", "statistics", "data"]),
            ("Databases and CRM", ["CRM", "database", "NationBuilder", "Action Network"]),
            ("IT support", ["tech support", "computer help", "fixing computers", "helpdesk"]),
            (
                "Digital security",
                ["cyber security", "online safety", "encryption", "security training"],
            ),
            (
                "Online meeting hosting",
                ["Zoom", "Microsoft Teams", "online calls", "virtual meetings"],
            ),
            ("Digital mapping", ["GIS", "maps", "QGIS", "mapping"]),
            ("Web accessibility", ["WCAG", "screen readers", "accessible websites"]),
        ],
    ),
    (
        "creative",
        "Creative",
        [
            ("Graphic design", ["design", "posters", "leaflet design", "Canva", "Photoshop"]),
            ("Illustration", ["drawing", "cartoons", "comics"]),
            ("Photography", ["photos", "taking pictures", "photographer"]),
            ("Video editing", ["editing films", "Premiere", "DaVinci Resolve", "cutting video"]),
            ("Filming", ["video", "camera operator", "shooting video", "videography"]),
            ("Animation", ["motion graphics", "After Effects", "animator"]),
            ("Music and performance", ["singing", "musician", "playing music", "band"]),
            (
                "Banner and placard making",
                ["placards", "banners", "signs for demos", "protest art"],
            ),
            ("Theatre and drama", ["acting", "street theatre", "drama", "role play"]),
            ("Podcasts and audio", ["podcast", "sound editing", "recording audio", "radio"]),
        ],
    ),
    (
        "communications",
        "Communications",
        [
            ("Writing", ["copywriting", "blog posts", "articles", "writer"]),
            ("Editing and proofreading", ["proofreading", "copy editing", "checking text"]),
            ("Social media", ["Instagram", "TikTok", "Facebook", "posting online", "socials"]),
            ("Press and media relations", ["press releases", "journalists", "PR", "media work"]),
            ("Public speaking", ["speeches", "presenting", "giving talks", "speaker"]),
            ("Email newsletters", ["Mailchimp", "newsletter", "email campaigns", "mailing list"]),
            ("Media interviews", ["spokesperson", "radio interviews", "TV interviews"]),
            ("Plain English and Easy Read", ["easy read", "plain language", "accessible writing"]),
            ("Storytelling", ["stories", "case studies", "testimonials"]),
            ("Campaign messaging", ["messaging", "framing", "slogans", "key messages"]),
        ],
    ),
    (
        "organising",
        "Organising",
        [
            ("Door-to-door canvassing", ["canvassing", "door knocking", "knocking on doors"]),
            ("Phone banking", ["phoning", "phone bank", "calling supporters"]),
            ("Leafleting", ["leaflets", "flyering", "delivering leaflets"]),
            ("Event organising", ["events", "event planning", "organising meetings"]),
            ("Meeting facilitation", ["facilitating", "chairing meetings", "running meetings"]),
            (
                "Volunteer coordination",
                ["volunteer management", "rotas", "coordinating volunteers"],
            ),
            ("Fundraising", ["raising money", "donations", "crowdfunding", "bucket collections"]),
            ("Stewarding", ["marshalling", "steward", "crowd safety", "demo stewarding"]),
            ("Petitions and street stalls", ["petition", "street stall", "collecting signatures"]),
            ("Community organising", ["organiser", "community building", "one-to-ones"]),
            (
                "Training and workshops",
                ["training", "running workshops", "trainer", "teaching adults"],
            ),
        ],
    ),
    (
        "practical",
        "Practical",
        [
            ("Driving (car)", ["driving", "car", "giving lifts", "driver"]),
            ("Minibus driving", ["driving", "minibus", "D1 licence", "MiDAS"]),
            ("Van driving", ["driving", "van", "removals", "transporting kit"]),
            ("Cooking and catering", ["cooking", "catering", "food", "chef"]),
            ("DIY and carpentry", ["DIY", "woodwork", "joinery", "building things"]),
            ("Gardening", ["growing food", "allotment", "horticulture", "planting"]),
            ("Sound and PA systems", ["PA", "sound engineering", "microphones", "sound system"]),
            ("Bike repair", ["bike mechanic", "bicycle repair", "cycling"]),
            ("Sewing and textiles", ["sewing", "tailoring", "alterations", "knitting"]),
            (
                "Venue set-up and crew",
                ["setting up", "heavy lifting", "stage crew", "venue set-up"],
            ),
        ],
    ),
    (
        "professional",
        "Professional",
        [
            ("Legal advice", ["law", "lawyer", "solicitor", "barrister"]),
            ("Legal observing", ["legal observer", "protest monitoring", "LO"]),
            ("Accounting and bookkeeping", ["accounts", "bookkeeping", "treasurer", "finance"]),
            ("Grant writing", ["funding bids", "grant applications", "bid writing"]),
            ("Project management", ["managing projects", "planning", "PM"]),
            ("HR and recruitment", ["human resources", "recruitment", "HR", "employment"]),
            ("Research", ["desk research", "policy research", "investigation", "FOI requests"]),
            ("Policy and lobbying", ["lobbying", "public affairs", "writing to MPs", "policy"]),
            ("Governance", ["trustee", "constitutions", "company secretary", "board member"]),
            ("Data protection", ["GDPR", "privacy", "DPO", "data protection officer"]),
            ("Teaching and tutoring", ["teaching", "tutoring", "teacher", "education"]),
        ],
    ),
    (
        "languages",
        "Languages",
        [
            ("Welsh", ["Cymraeg", "Welsh language", "Welsh speaker"]),
            (
                "British Sign Language interpreting",
                ["BSL", "sign language", "signing", "Deaf interpreting"],
            ),
            ("Scottish Gaelic", ["Gàidhlig", "Gaelic", "Gaelic speaker"]),
            ("Polish", ["polski", "język polski", "Polish speaker"]),
            ("Urdu", ["اردو", "Urdu speaker", "Urdu translation"]),
            ("Punjabi", ["Panjabi", "ਪੰਜਾਬੀ", "Punjabi speaker"]),
            ("Bengali", ["Bangla", "বাংলা", "Sylheti"]),
            ("Arabic", ["العربية", "Arabic speaker", "Arabic translation"]),
            ("Somali", ["Soomaali", "af-Soomaali", "Somali speaker"]),
            ("Romanian", ["română", "limba română", "Romanian speaker"]),
            ("Translation and interpreting", ["translating", "translator", "interpreter"]),
        ],
    ),
    (
        "care",
        "Care",
        [
            ("First aid", ["first aider", "street medic", "medic", "first-aid"]),
            ("Mental health support", ["listening", "emotional support", "wellbeing"]),
            ("Childcare", ["looking after children", "crèche", "babysitting", "kids"]),
            ("Befriending", ["visiting", "companionship", "loneliness", "phone befriending"]),
            ("Care for older people", ["elderly", "older people", "carer"]),
            ("Disability support", ["personal assistant", "support worker", "access support"]),
            (
                "Benefits and debt advice",
                ["Universal Credit", "debt", "welfare rights", "benefits"],
            ),
            ("Housing advice", ["tenants' rights", "eviction", "housing", "renting"]),
            ("Safeguarding", ["DBS", "child protection", "safeguarding lead"]),
            ("Food bank support", ["food bank", "food parcels", "community pantry"]),
            ("Mediation and de-escalation", ["mediation", "de-escalation", "conflict resolution"]),
        ],
    ),
]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def add_taxonomy(apps, schema_editor):
    SkillCategory = apps.get_model("people", "SkillCategory")
    Skill = apps.get_model("people", "Skill")
    for position, (slug, name, skills) in enumerate(TAXONOMY, start=1):
        category, _ = SkillCategory.objects.get_or_create(
            slug=slug, defaults={"name": name, "position": position}
        )
        for skill_name, synonyms in skills:
            Skill.objects.get_or_create(
                slug=_slug(skill_name),
                defaults={
                    "name": skill_name,
                    "category": category,
                    "synonyms": "\n".join(synonyms),
                },
            )


def remove_taxonomy(apps, schema_editor):
    SkillCategory = apps.get_model("people", "SkillCategory")
    Skill = apps.get_model("people", "Skill")
    slugs = [_slug(name) for _, _, skills in TAXONOMY for name, _ in skills]
    Skill.objects.filter(slug__in=slugs).delete()
    SkillCategory.objects.filter(slug__in=[slug for slug, _, _ in TAXONOMY], skills=None).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0002_talent_pool_profiles"),
    ]

    operations = [
        migrations.RunPython(add_taxonomy, remove_taxonomy, elidable=False),
    ]
