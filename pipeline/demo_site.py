"""The bundled demo job board that ``make demo`` scrapes, served on loopback only.

Three fictional sources live side by side, each shaped like a kind of site the scrapers meet in
the wild: a job board with schema.org ``JobPosting`` JSON-LD and paginated listings (``/jobs/``),
a WordPress-style lowongan blog with an RSS 2.0 feed (``/blog/``), and a page shaped like a
public Telegram channel preview (``/s/<channel>``). Pages are rendered once, at start-up, from
``data/demo_site/ads.jsonl``; the ground-truth labels in that file are never served.

Every ad is treated as hostile text even though we wrote it: the same renderer serves test files
that try to break out of the markup, and scrapers learn nothing if the demo is kinder than the
web. All text goes through :func:`html.escape`, JSON-LD through :func:`json.dumps` with ``</``
escaped, and RSS text through XML escaping and split CDATA sections.

Example::

    server, base_url = serve_in_thread(port=0)
    ...  # fetch f"{base_url}/jobs/"
    server.shutdown()
    server.server_close()
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import json
import logging
import re
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipeline import WaspadaError
from pipeline.paths import DEMO_SITE_DIR

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_ADS_PATH = DEMO_SITE_DIR / "ads.jsonl"
TELEGRAM_CHANNEL = "loker_serumpun_demo"
TELEGRAM_TITLE = "Loker Serumpun — Info Kerja Luar Negeri (demo)"
JOBBOARD_NAME = "LokerGlobal (demo)"
BLOG_NAME = "Info Loker Babel (demo)"
PAGE_SIZE = 10
CHANNELS = ("jobboard", "blog", "telegram")
# A generous bound: the file is ours, but a runaway test file should fail loudly, not eat memory.
MAX_ADS_BYTES = 5_000_000
REQUIRED_FIELDS = ("id", "channel", "slug", "title", "posted_at", "body")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,120}$")
# Linkify only plain http(s) URLs, bare wa.me / t.me links and @handles, as t.me does.
LINK_RE = re.compile(
    r"(?P<url>https?://[^\s<>\"']+|\b(?:wa\.me|t\.me)/[^\s<>\"']+)|(?<![\w.])@(?P<handle>\w{5,32})"
)
WIB = dt.timezone(dt.timedelta(hours=7))


# ---------------------------------------------------------------------------------------------
# The content


@dataclass(frozen=True)
class DemoAd:
    """One hand-written ad as the site shows it (the label is kept but never rendered)."""

    id: str
    channel: str
    slug: str
    title: str
    body: str
    posted_at: dt.datetime
    company: str | None = None
    location: str | None = None
    country: str | None = None
    salary_text: str | None = None
    salary: dict[str, Any] | None = None
    employment_type: str = "FULL_TIME"
    valid_through: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def valid_until(self) -> dt.datetime:
        """``validThrough``: given in the file, else 30 days after posting (a common default)."""
        return self.valid_through or self.posted_at + dt.timedelta(days=30)

    @property
    def telegram_id(self) -> int:
        """The message id of a Telegram ad (its slug is the number, as in t.me/<channel>/<id>)."""
        return int(self.slug)


def _parse_time(value: Any, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise WaspadaError(f"{where}: posted_at must be an ISO date or datetime string")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise WaspadaError(f"{where}: posted_at {value!r} is not an ISO date") from None
    # A bare date or naive time is local time in Bangka Belitung (WIB, UTC+7).
    return moment if moment.tzinfo else moment.replace(tzinfo=WIB)


def load_ads(path: Path | str = DEFAULT_ADS_PATH) -> list[DemoAd]:
    """Read and check the ads file; a bad file is one clear error, never a half-built site."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise WaspadaError(f"demo ads file not found: {path}") from None
    if size > MAX_ADS_BYTES:
        raise WaspadaError(f"demo ads file {path} is too large ({size} bytes)")
    ads: list[DemoAd] = []
    seen: set[tuple[str, str]] = set()
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise WaspadaError(f"{where}: not valid JSON ({exc.msg})") from None
            ads.append(_ad_from_record(raw, where))
            key = (ads[-1].channel, ads[-1].slug)
            if key in seen:
                raise WaspadaError(f"{where}: duplicate slug {key[1]!r} in {key[0]}")
            seen.add(key)
    return ads


def _ad_from_record(raw: Any, where: str) -> DemoAd:
    if not isinstance(raw, dict):
        raise WaspadaError(f"{where}: each line must be a JSON object")
    missing = [name for name in REQUIRED_FIELDS if not raw.get(name)]
    if missing:
        raise WaspadaError(f"{where}: missing {', '.join(missing)}")
    channel = raw["channel"]
    if channel not in CHANNELS:
        raise WaspadaError(f"{where}: channel must be one of {', '.join(CHANNELS)}")
    slug = str(raw["slug"])
    # Slugs become URL path segments, so they are checked rather than escaped.
    if channel == "telegram" and not slug.isdigit():
        raise WaspadaError(f"{where}: a telegram slug is the message id (digits only)")
    if not SLUG_RE.match(slug):
        raise WaspadaError(f"{where}: slug {slug!r} must be lowercase letters, digits and -")
    salary = raw.get("salary")
    if salary is not None and not (
        isinstance(salary, dict) and {"currency", "min", "max", "unit"} <= salary.keys()
    ):
        raise WaspadaError(f"{where}: salary must be null or have currency, min, max, unit")
    valid = raw.get("valid_through")
    known = {
        "id", "channel", "slug", "title", "body", "posted_at", "company", "location",
        "country", "salary_text", "salary", "employment_type", "valid_through",
    }  # fmt: skip
    return DemoAd(
        id=str(raw["id"]),
        channel=channel,
        slug=slug,
        title=str(raw["title"]),
        body=str(raw["body"]),
        posted_at=_parse_time(raw["posted_at"], where),
        company=raw.get("company") or None,
        location=raw.get("location") or None,
        country=raw.get("country") or None,
        salary_text=raw.get("salary_text") or None,
        salary=salary,
        employment_type=str(raw.get("employment_type") or "FULL_TIME"),
        valid_through=_parse_time(valid, where) if valid else None,
        extra={k: v for k, v in raw.items() if k not in known},
    )


# ---------------------------------------------------------------------------------------------
# Rendering helpers

e = html.escape


# Characters XML 1.0 forbids; a stray control character in an ad must not break the whole feed.
_XML_BAD = re.compile("[^\\t\\n\\r\\x20-\\ud7ff\\ue000-\\ufffd\\U00010000-\\U0010ffff]")


def _xml(text: str) -> str:
    return html.escape(_XML_BAD.sub("", text), quote=True)


def _cdata(text: str) -> str:
    """A CDATA section; a ``]]>`` inside the text is split across two sections, as it must be."""
    return "<![CDATA[" + _XML_BAD.sub("", text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


_SCRIPT_OPEN = re.compile(r"<script", re.IGNORECASE)


def json_for_script(data: Any) -> str:
    """JSON that is safe inside ``<script>``: no ad text can close the tag or open a comment."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    # "</" alone could close the element; "<!--" and "<script" could switch the HTML parser
    # into its escaped script states. Both forms are still the same JSON to json.loads.
    text = text.replace("</", "<\\/").replace("<!--", "\\u003c!--")
    return _SCRIPT_OPEN.sub(lambda m: "\\u003c" + m.group(0)[1:], text)


def _linkify(text: str) -> str:
    """Escape ``text`` and turn URLs and @handles into links, the way t.me and WordPress do."""
    out: list[str] = []
    last = 0
    for match in LINK_RE.finditer(text):
        out.append(e(text[last : match.start()]))
        if match.group("handle"):
            handle = match.group("handle")
            href = f"https://t.me/{handle}"
            out.append(f'<a href="{e(href)}">@{e(handle)}</a>')
        else:
            shown = match.group("url").rstrip(".,;:!?)")
            tail = match.group("url")[len(shown) :]
            href = shown if shown.startswith("http") else f"https://{shown}"
            out.append(
                f'<a href="{e(href)}" target="_blank" rel="noopener">{e(shown)}</a>{e(tail)}'
            )
        last = match.end()
    out.append(e(text[last:]))
    return "".join(out)


def _paragraphs(text: str, linkify: bool = False) -> str:
    """Blank lines split paragraphs; single line breaks stay as ``<br>``."""
    render = _linkify if linkify else e
    blocks = [block.strip("\n") for block in re.split(r"\n\s*\n", text) if block.strip()]
    return "\n".join(
        "<p>" + "<br>\n".join(render(ln) for ln in b.split("\n")) + "</p>" for b in blocks
    )


def _page(title: str, body: str, head: str = "", site: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="id">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}{' | ' + e(site) if site else ''}</title>\n{head}</head>\n"
        f"<body>\n{body}\n"
        '<footer class="demo-note"><small>Situs demo Waspada: semua iklan fiktif, ditulis untuk '
        "proyek ini. Demo site: every ad is fictional.</small></footer>\n</body>\n</html>\n"
    )


def _date_id(moment: dt.datetime) -> str:
    months = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]
    return f"{moment.day} {months[moment.month - 1]} {moment.year}"


# ---------------------------------------------------------------------------------------------
# The three sources


class DemoSite:
    """All pages of the demo site, rendered once from the ads (lookups are then dict reads)."""

    def __init__(self, ads: Iterable[DemoAd], base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        ads = list(ads)
        newest_first = sorted(ads, key=lambda ad: (ad.posted_at, ad.id), reverse=True)
        self.jobs = [ad for ad in newest_first if ad.channel == "jobboard"]
        self.posts = [ad for ad in newest_first if ad.channel == "blog"]
        # Telegram pages read oldest → newest, like the real channel preview.
        self.messages = sorted(
            (ad for ad in ads if ad.channel == "telegram"), key=lambda ad: ad.telegram_id
        )
        self.job_by_slug = {ad.slug: ad for ad in self.jobs}
        self.post_by_path = {self.post_path(ad): ad for ad in self.posts}

    # -- job board ----------------------------------------------------------------------------

    @property
    def job_pages(self) -> int:
        return max(1, -(-len(self.jobs) // PAGE_SIZE))

    def job_listing(self, page: int) -> str | None:
        if not 1 <= page <= self.job_pages:
            return None
        chunk = self.jobs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        items = []
        for ad in chunk:
            salary = f'<span class="salary">{e(ad.salary_text)}</span>' if ad.salary_text else ""
            items.append(
                '<li class="job-card">\n'
                f'  <h2><a class="job-link" href="/jobs/{ad.slug}/">{e(ad.title)}</a></h2>\n'
                f'  <div class="company">{e(ad.company or "")}</div>\n'
                f'  <div class="location">{e(ad.location or "")}</div>\n  {salary}\n'
                f'  <time datetime="{ad.posted_at.isoformat()}">{_date_id(ad.posted_at)}</time>\n'
                "</li>"
            )
        nav = []
        if page > 1:
            prev = "/jobs/" if page == 2 else f"/jobs/?page={page - 1}"
            nav.append(f'<a rel="prev" class="prev" href="{prev}">&laquo; Sebelumnya</a>')
        nav.append(f'<span class="current">Halaman {page} dari {self.job_pages}</span>')
        if page < self.job_pages:
            nav.append(
                f'<a rel="next" class="next" href="/jobs/?page={page + 1}">Berikutnya &raquo;</a>'
            )
        body = (
            f'<header><a class="brand" href="/jobs/">{e(JOBBOARD_NAME)}</a></header>\n<main>\n'
            f"<h1>Lowongan terbaru</h1>\n"
            '<ul class="job-list">\n' + "\n".join(items) + "\n</ul>\n"
            '<nav class="pagination">' + " ".join(nav) + "</nav>\n</main>"
        )
        return _page(f"Lowongan kerja — halaman {page}", body, site=JOBBOARD_NAME)

    def job_posting(self, ad: DemoAd) -> dict[str, Any]:
        """The schema.org JobPosting of a job-board ad (what a jsonld scraper should recover)."""
        data: dict[str, Any] = {
            "@context": "https://schema.org/",
            "@type": "JobPosting",
            "title": ad.title,
            "description": ad.body,
            "datePosted": ad.posted_at.isoformat(),
            "validThrough": ad.valid_until.isoformat(),
            "employmentType": ad.employment_type,
            "url": f"{self.base_url}/jobs/{ad.slug}/",
            "identifier": {"@type": "PropertyValue", "name": JOBBOARD_NAME, "value": ad.id},
        }
        if ad.company:
            data["hiringOrganization"] = {"@type": "Organization", "name": ad.company}
        if ad.location or ad.country:
            address: dict[str, Any] = {"@type": "PostalAddress"}
            if ad.location:
                address["addressLocality"] = ad.location
            if ad.country:
                address["addressCountry"] = ad.country
            data["jobLocation"] = {"@type": "Place", "address": address}
        if ad.salary:
            s = ad.salary
            data["baseSalary"] = {
                "@type": "MonetaryAmount",
                "currency": s["currency"],
                "value": {
                    "@type": "QuantitativeValue",
                    "minValue": s["min"],
                    "maxValue": s["max"],
                    "unitText": s["unit"],
                },
            }
        return data

    def job_detail(self, slug: str) -> str | None:
        ad = self.job_by_slug.get(slug)
        if ad is None:
            return None
        head = (
            f'<link rel="canonical" href="{e(self.base_url)}/jobs/{ad.slug}/">\n'
            '<script type="application/ld+json">\n'
            f"{json_for_script(self.job_posting(ad))}\n</script>\n"
        )
        facts = [
            ("company", "Perusahaan", ad.company),
            ("location", "Lokasi", ", ".join(x for x in (ad.location, ad.country) if x)),
            ("salary", "Gaji", ad.salary_text),
            ("employment-type", "Jenis", ad.employment_type),
        ]
        rows = "\n".join(
            f'<dt>{label}</dt><dd class="{cls}">{e(value)}</dd>'
            for cls, label, value in facts
            if value
        )
        body = (
            f'<header><a class="brand" href="/jobs/">{e(JOBBOARD_NAME)}</a></header>\n'
            '<main>\n<article class="job-detail">\n'
            f'<h1 class="job-title">{e(ad.title)}</h1>\n<dl class="job-facts">\n{rows}\n'
            f'<dt>Diposting</dt><dd><time class="date-posted" datetime="{ad.posted_at.isoformat()}">'
            f"{_date_id(ad.posted_at)}</time></dd>\n"
            f'<dt>Berlaku s/d</dt><dd><time class="valid-through" '
            f'datetime="{ad.valid_until.isoformat()}">{_date_id(ad.valid_until)}</time></dd>\n</dl>\n'
            f'<div class="description">\n{_paragraphs(ad.body)}\n</div>\n'
            '</article>\n<p><a href="/jobs/">&laquo; Kembali ke daftar lowongan</a></p>\n</main>'
        )
        return _page(ad.title, body, head=head, site=JOBBOARD_NAME)

    # -- blog --------------------------------------------------------------------------------

    @staticmethod
    def post_path(ad: DemoAd) -> str:
        return f"/blog/{ad.posted_at.year:04d}/{ad.posted_at.month:02d}/{ad.slug}/"

    def _blog_header(self) -> str:
        return (
            '<header id="masthead" class="site-header"><p class="site-title">'
            f'<a href="/blog/" rel="home">{e(BLOG_NAME)}</a></p>'
            '<p class="site-description">Lowongan kerja Bangka Belitung &amp; luar negeri</p>'
            "</header>\n"
        )

    def blog_index(self) -> str:
        items = []
        for ad in self.posts:
            excerpt = ad.body[:180].rsplit(" ", 1)[0] + " […]" if len(ad.body) > 180 else ad.body
            items.append(
                f'<article class="post type-post status-publish" id="post-{e(ad.id)}">\n'
                f'<h2 class="entry-title"><a href="{self.post_path(ad)}" rel="bookmark">'
                f"{e(ad.title)}</a></h2>\n"
                f'<time class="published" datetime="{ad.posted_at.isoformat()}">'
                f"{_date_id(ad.posted_at)}</time>\n"
                f'<div class="entry-summary"><p>{e(excerpt)}</p></div>\n</article>'
            )
        head = (
            '<link rel="alternate" type="application/rss+xml" '
            f'title="{e(BLOG_NAME)} &raquo; Feed" href="/blog/feed/">\n'
        )
        body = self._blog_header() + '<main id="main" class="site-main">\n' + "\n".join(items)
        return _page(BLOG_NAME, body + "\n</main>", head=head)

    def blog_post(self, path: str) -> str | None:
        ad = self.post_by_path.get(path)
        if ad is None:
            return None
        meta = []
        if ad.location:
            meta.append(f'<span class="job-location">{e(ad.location)}</span>')
        if ad.salary_text:
            meta.append(f'<span class="job-salary">{e(ad.salary_text)}</span>')
        body = (
            self._blog_header() + '<main id="main" class="site-main">\n'
            f'<article class="post type-post status-publish" id="post-{e(ad.id)}">\n'
            f'<header class="entry-header"><h1 class="entry-title">{e(ad.title)}</h1>\n'
            f'<div class="entry-meta">Diposting <time class="published" '
            f'datetime="{ad.posted_at.isoformat()}">{_date_id(ad.posted_at)}</time> '
            'oleh <span class="author vcard">admin</span> ' + " ".join(meta) + "</div></header>\n"
            f'<div class="entry-content">\n{_paragraphs(ad.body, linkify=True)}\n</div>\n'
            '</article>\n<p><a href="/blog/">&laquo; Semua lowongan</a></p>\n</main>'
        )
        head = f'<link rel="canonical" href="{e(self.base_url + path)}">\n'
        return _page(ad.title, body, head=head, site=BLOG_NAME)

    def blog_feed(self) -> bytes:
        """RSS 2.0 as WordPress writes it, with the full HTML in ``content:encoded`` CDATA."""
        items = []
        for ad in self.posts:
            url = self.base_url + self.post_path(ad)
            summary = ad.body if len(ad.body) <= 300 else ad.body[:300].rsplit(" ", 1)[0] + " […]"
            items.append(
                "<item>\n"
                f"<title>{_xml(ad.title)}</title>\n<link>{_xml(url)}</link>\n"
                f'<guid isPermaLink="true">{_xml(url)}</guid>\n'
                f"<pubDate>{email.utils.format_datetime(ad.posted_at)}</pubDate>\n"
                "<dc:creator><![CDATA[admin]]></dc:creator>\n"
                f"<description>{_cdata(summary)}</description>\n"
                f"<content:encoded>{_cdata(_paragraphs(ad.body, linkify=True))}</content:encoded>\n"
                "</item>"
            )
        built = email.utils.format_datetime(self.posts[0].posted_at) if self.posts else ""
        feed = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
            f"<title>{_xml(BLOG_NAME)}</title>\n"
            f'<atom:link href="{_xml(self.base_url)}/blog/feed/" rel="self" '
            'type="application/rss+xml" />\n'
            f"<link>{_xml(self.base_url)}/blog/</link>\n"
            "<description>Lowongan kerja Bangka Belitung &amp; luar negeri</description>\n"
            f"<lastBuildDate>{built}</lastBuildDate>\n<language>id-ID</language>\n"
            + "\n".join(items)
            + "\n</channel>\n</rss>\n"
        )
        return feed.encode("utf-8")

    # -- telegram ----------------------------------------------------------------------------

    def telegram_page(self, before: int | None = None, around: int | None = None) -> str | None:
        """A t.me/s/<channel> style page: the 10 newest messages, or the 10 before ``before``.

        ``around`` serves /s/<channel>/<id>, the page that holds message <id> (the date links).
        """
        ids = [ad.telegram_id for ad in self.messages]
        if around is not None:
            if around not in ids:
                return None
            # Pages are cut from the newest end: find the page that holds ``around``.
            end = len(ids) - PAGE_SIZE * ((len(ids) - 1 - ids.index(around)) // PAGE_SIZE)
            before = ids[end] if end < len(ids) else None
        older = [ad for ad in self.messages if before is None or ad.telegram_id < before]
        shown = older[-PAGE_SIZE:]
        if before is not None and not shown:
            return None
        more = ""
        head = f'<link rel="canonical" href="{e(self.base_url)}/s/{TELEGRAM_CHANNEL}">\n'
        if len(older) > len(shown):
            first = shown[0].telegram_id
            href = f"/s/{TELEGRAM_CHANNEL}?before={first}"
            head += f'<link rel="prev" href="{href}">\n'
            more = (
                '<div class="tgme_widget_message_centered js-messages_more_wrap">'
                f'<a href="{href}" class="tme_messages_more js-messages_more" '
                f'data-before="{first}"></a></div>\n'
            )
        messages = "\n".join(self._telegram_message(ad) for ad in shown)
        body = (
            '<div class="tgme_header"><div class="tgme_header_title">'
            f'<span dir="auto">{e(TELEGRAM_TITLE)}</span></div>'
            f'<div class="tgme_header_link">@{TELEGRAM_CHANNEL}</div></div>\n'
            '<main class="tgme_main"><section class="tgme_channel_history js-message_history">\n'
            f"{more}{messages}\n</section></main>"
        )
        return _page(TELEGRAM_TITLE, body, head=head)

    def _telegram_message(self, ad: DemoAd) -> str:
        post = f"{TELEGRAM_CHANNEL}/{ad.telegram_id}"
        text = "<br/>".join(_linkify(line) for line in ad.body.split("\n"))
        utc = ad.posted_at.astimezone(dt.UTC)
        views = 300 + (ad.telegram_id * 7919) % 4700  # stable, plausible view counts
        return (
            '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
            f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
            f'data-post="{post}">\n'
            '<div class="tgme_widget_message_bubble">\n'
            '<div class="tgme_widget_message_author accent_color">'
            f'<a class="tgme_widget_message_owner_name" href="/s/{TELEGRAM_CHANNEL}">'
            f'<span dir="auto">{e(TELEGRAM_TITLE)}</span></a></div>\n'
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>\n'
            '<div class="tgme_widget_message_footer compact js-message_footer">'
            '<div class="tgme_widget_message_info short js-message_info">'
            f'<span class="tgme_widget_message_views">{views / 1000:.1f}K</span>'
            '<span class="tgme_widget_message_meta">'
            f'<a class="tgme_widget_message_date" href="{e(self.base_url)}/s/{post}">'
            f'<time datetime="{utc.isoformat()}" class="time">{utc:%H:%M}</time></a>'
            "</span></div></div>\n</div></div></div>"
        )

    # -- the rest ----------------------------------------------------------------------------

    def home(self) -> str:
        body = (
            "<main>\n<h1>Waspada demo site</h1>\n"
            "<p>Tiga sumber fiktif untuk demo pengikisan (scraping). "
            "Three fictional sources for the scraping demo.</p>\n<ul>\n"
            f'<li><a href="/jobs/">{e(JOBBOARD_NAME)}</a>: papan lowongan (JSON-LD JobPosting)</li>\n'
            f'<li><a href="/blog/">{e(BLOG_NAME)}</a>: blog lowongan '
            '(<a href="/blog/feed/">RSS</a>)</li>\n'
            f'<li><a href="/s/{TELEGRAM_CHANNEL}">@{TELEGRAM_CHANNEL}</a>: '
            "pratinjau kanal Telegram</li>\n</ul>\n</main>"
        )
        return _page("Waspada demo site", body)

    @staticmethod
    def robots() -> str:
        return "User-agent: *\nDisallow: /admin/\nAllow: /\n"

    def not_found(self) -> str:
        return _page("404 — halaman tidak ditemukan", "<main><h1>404</h1><p>Not found.</p></main>")

    def route(self, raw_path: str) -> tuple[int, str, bytes]:
        """Map a request path to (status, content type, body)."""
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        html_type = "text/html; charset=utf-8"
        page: str | None = None
        if path == "/":
            page = self.home()
        elif path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", self.robots().encode()
        elif path == "/jobs/":
            number = _int_param(query, "page", default=1)
            page = self.job_listing(number) if number is not None else None
        elif path.startswith("/jobs/") and path.endswith("/") and path.count("/") == 3:
            page = self.job_detail(path[len("/jobs/") : -1])
        elif path == "/blog/":
            page = self.blog_index()
        elif path == "/blog/feed/":
            return 200, "application/rss+xml; charset=utf-8", self.blog_feed()
        elif path.startswith("/blog/"):
            page = self.blog_post(path)
        elif path == f"/s/{TELEGRAM_CHANNEL}":
            before = _int_param(query, "before", default=None)
            if "before" not in query or before is not None:
                page = self.telegram_page(before=before)
        elif path.startswith(f"/s/{TELEGRAM_CHANNEL}/"):
            tail = path[len(f"/s/{TELEGRAM_CHANNEL}/") :]
            if tail.isdigit():
                page = self.telegram_page(around=int(tail))
        if page is None:
            return 404, html_type, self.not_found().encode()
        return 200, html_type, page.encode()


def _int_param(query: dict[str, list[str]], name: str, default: int | None) -> int | None:
    """The integer value of ``name``; ``None`` when present but not a plain positive integer."""
    values = query.get(name)
    if not values:
        return default
    value = values[0]
    return int(value) if value.isdigit() and len(value) < 10 else None


# ---------------------------------------------------------------------------------------------
# The server


class _Handler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = "WaspadaDemo/1.0"

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        status, content_type, body = self.server.site.route(self.path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib signature)
        # Scrapers hit this server hundreds of times per demo; stderr stays quiet.
        log.debug("%s %s", self.address_string(), format % args)


class DemoServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its site and its own base URL."""

    daemon_threads = True
    site: DemoSite

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class DemoServer6(DemoServer):
    """The same server on IPv6 loopback (``--host ::1``)."""

    address_family = socket.AF_INET6


def is_loopback(host: str) -> bool:
    """True for names and addresses that stay on this machine."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, ads_path: Path | str | None = None
) -> DemoServer:
    """A demo server bound to ``host:port`` (0 = any free port); call ``serve_forever`` on it.

    ``ads_path`` defaults to the bundled ``data/demo_site/ads.jsonl``; tests pass their own.
    Only loopback hosts are accepted: the demo imitates scam ads and has no business on a LAN.
    """
    if not is_loopback(host):
        raise WaspadaError(
            f"refusing to serve the demo site on {host}: it is not a loopback address (use 127.0.0.1)"
        )
    ads = load_ads(ads_path or DEFAULT_ADS_PATH)
    server_class = DemoServer6 if ":" in host else DemoServer
    try:
        server = server_class((host, port), _Handler)
    except OSError as exc:
        raise WaspadaError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server.site = DemoSite(ads, server.base_url)
    return server


def serve_in_thread(
    port: int = 0, ads_path: Path | str | None = None, host: str = DEFAULT_HOST
) -> tuple[DemoServer, str]:
    """Start a demo server in a daemon thread; returns ``(server, base_url)``.

    Stop it with ``shutdown_server(server)`` (or ``server.shutdown(); server.server_close()``).
    """
    server = make_server(host=host, port=port, ads_path=ads_path)
    thread = threading.Thread(target=server.serve_forever, name="waspada-demo-site", daemon=True)
    thread.start()
    return server, server.base_url


def shutdown_server(server: DemoServer) -> None:
    """Stop serving and release the port."""
    server.shutdown()
    server.server_close()
