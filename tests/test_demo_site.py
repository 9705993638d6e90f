"""The bundled demo job board, over real HTTP on 127.0.0.1: pages, feeds, paging, escaping."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from pipeline import WaspadaError
from pipeline.cli.demo import demo_site
from pipeline.demo_site import (
    DEFAULT_ADS_PATH,
    PAGE_SIZE,
    TELEGRAM_CHANNEL,
    make_server,
    serve_in_thread,
    shutdown_server,
)

CONTENT_NS = "{http://purl.org/rss/1.0/modules/content/}"
HOSTILE = '</script><script>alert(1)</script><!-- ]]> <img src=x onerror=alert(2)> & "q"'


def load_records(path: Path = DEFAULT_ADS_PATH) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


RECORDS = load_records()


def fetch(url: str) -> tuple[int, str, str]:
    """(status, content type, text) of a GET, 4xx/5xx included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def soup(url: str) -> BeautifulSoup:
    status, _, text = fetch(url)
    assert status == 200, url
    return BeautifulSoup(text, "lxml")


@pytest.fixture(scope="module")
def site():
    server, base_url = serve_in_thread(port=0)
    yield base_url
    shutdown_server(server)


def by_channel(channel: str, records: list[dict] = RECORDS) -> list[dict]:
    return [r for r in records if r["channel"] == channel]


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


# -- the content ---------------------------------------------------------------------------


def test_content_counts_and_mix():
    channels = Counter(r["channel"] for r in RECORDS)
    assert len(RECORDS) >= 85
    assert channels["jobboard"] >= 38 and channels["blog"] >= 23 and channels["telegram"] >= 23
    assert {r["language"] for r in RECORDS} == {"id", "en"}
    labels = Counter(r["label"] for r in RECORDS)
    assert 0.35 <= labels[1] / len(RECORDS) <= 0.55
    assert len({r["id"] for r in RECORDS}) == len(RECORDS)
    for record in RECORDS:
        assert (record["category"] == "legit") == (record["label"] == 0), record["id"]
        assert record["category"] in {"tppo", "nonprocedural", "fee_fraud", "legit"}
        assert when(record["posted_at"]).strftime("%Y-%m") == "2026-11", record["id"]
        assert record["note"] and record["body"] and isinstance(record["hard"], bool)
    # Hard cases exist on both sides of the line.
    assert {r["label"] for r in RECORDS if r["hard"]} == {0, 1}


def test_ads_are_not_templated():
    """No two ads share an opening or a long run of text (each was written on its own)."""
    openings = Counter(r["body"][:60] for r in RECORDS)
    assert max(openings.values()) == 1
    lines = Counter(
        line.strip() for r in RECORDS for line in set(r["body"].split("\n")) if len(line) > 80
    )
    repeated = [line for line, count in lines.items() if count > 1]
    assert repeated == []


# -- the job board -------------------------------------------------------------------------


def test_listing_paginates_over_every_job(site):
    url, seen, pages = f"{site}/jobs/", [], 0
    while url:
        page = soup(url)
        links = [a["href"] for a in page.select("a.job-link")]
        assert 0 < len(links) <= PAGE_SIZE
        seen += links
        pages += 1
        nxt = page.select_one("a[rel=next]")
        if nxt is not None:
            assert "next" in nxt["class"]
            assert nxt["href"] == f"/jobs/?page={pages + 1}"
            assert len(links) == PAGE_SIZE
        url = f"{site}{nxt['href']}" if nxt else None
    jobs = by_channel("jobboard")
    assert pages == -(-len(jobs) // PAGE_SIZE)
    assert sorted(seen) == sorted(f"/jobs/{r['slug']}/" for r in jobs)
    # Newest first: the first link on page 1 is the most recent job.
    newest = max(jobs, key=lambda r: when(r["posted_at"]))
    assert seen[0] == f"/jobs/{newest['slug']}/"


def test_every_detail_page_carries_a_matching_jobposting(site):
    for record in by_channel("jobboard"):
        page = soup(f"{site}/jobs/{record['slug']}/")
        scripts = page.select('script[type="application/ld+json"]')
        assert len(scripts) == 1
        data = json.loads(scripts[0].string)
        assert data["@type"] == "JobPosting"
        assert data["title"] == record["title"]
        assert data["description"] == record["body"]
        assert when(data["datePosted"]) == when(record["posted_at"])
        assert when(data["validThrough"]) > when(data["datePosted"])
        assert data["employmentType"]
        assert record["company"], "a job board always names an employer"
        assert data["hiringOrganization"]["name"] == record["company"]
        address = data["jobLocation"]["address"]
        assert address["addressLocality"] == record["location"]
        assert address["addressCountry"] == record["country"]
        if record["salary"]:
            salary = data["baseSalary"]
            assert salary["currency"] == record["salary"]["currency"]
            assert salary["value"]["minValue"] == record["salary"]["min"]
            assert salary["value"]["maxValue"] == record["salary"]["max"]
            assert salary["value"]["unitText"] == record["salary"]["unit"]
        else:
            assert "baseSalary" not in data
        # The same content is visible as HTML.
        assert page.select_one("h1").get_text() == record["title"]
        visible = page.select_one("div.description").get_text()
        for line in record["body"].split("\n"):
            assert line.strip() in visible


def test_labels_and_notes_are_never_served(site):
    pages = [fetch(f"{site}/jobs/{r['slug']}/")[2] for r in by_channel("jobboard")]
    pages += [fetch(f"{site}/blog/feed/")[2], fetch(f"{site}/s/{TELEGRAM_CHANNEL}")[2]]
    text = "\n".join(pages)
    for record in RECORDS:
        assert record["note"] not in text
    assert '"label"' not in text and '"category"' not in text


# -- the blog ------------------------------------------------------------------------------


def test_rss_feed_lists_every_blog_post(site):
    status, content_type, text = fetch(f"{site}/blog/feed/")
    assert status == 200 and content_type.startswith("application/rss+xml")
    assert "<![CDATA[" in text
    root = ET.fromstring(text.encode())
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    posts = {r["title"]: r for r in by_channel("blog")}
    assert len(items) == len(posts)
    for item in items:
        record = posts[item.findtext("title")]
        link = item.findtext("link")
        assert item.findtext("guid") == link
        assert link == f"{site}/blog/2026/11/{record['slug']}/"
        published = email_date(item.findtext("pubDate"))
        assert published == when(record["posted_at"])
        assert item.findtext("description")
        html_content = BeautifulSoup(item.findtext(f"{CONTENT_NS}encoded"), "lxml").get_text()
        for line in record["body"].split("\n"):
            assert line.strip() in html_content


def email_date(value: str) -> dt.datetime:
    import email.utils

    return email.utils.parsedate_to_datetime(value)


def test_blog_index_and_posts_are_wordpress_shaped(site):
    index = soup(f"{site}/blog/")
    assert index.select_one('link[type="application/rss+xml"]')["href"] == "/blog/feed/"
    hrefs = [a["href"] for a in index.select("article.post h2.entry-title a")]
    assert len(hrefs) == len(by_channel("blog"))
    record = by_channel("blog")[0]
    page = soup(f"{site}/blog/2026/11/{record['slug']}/")
    article = page.select_one("article.post")
    assert article.select_one("h1.entry-title").get_text() == record["title"]
    assert when(article.select_one("time.published")["datetime"]) == when(record["posted_at"])
    assert record["body"].split("\n")[0] in article.select_one("div.entry-content").get_text()


# -- the Telegram preview ------------------------------------------------------------------


def message_text(node) -> str:
    for br in node.find_all("br"):
        br.replace_with("\n")
    return node.get_text()


def test_telegram_pages_backwards_over_every_message_once(site):
    records = {r["slug"]: r for r in by_channel("telegram")}
    url, seen, pages = f"{site}/s/{TELEGRAM_CHANNEL}", [], []
    while url:
        page = soup(url)
        messages = page.select("div.tgme_widget_message")
        ids = [int(m["data-post"].split("/")[1]) for m in messages]
        assert 0 < len(ids) <= PAGE_SIZE and ids == sorted(ids)  # oldest → newest
        for message, number in zip(messages, ids, strict=True):
            assert message["data-post"] == f"{TELEGRAM_CHANNEL}/{number}"
            record = records[str(number)]
            text = message.select_one("div.tgme_widget_message_text")
            assert message_text(text) == record["body"]
            time = message.select_one("a.tgme_widget_message_date time")
            assert when(time["datetime"]) == when(record["posted_at"])
        seen = ids + seen
        pages.append(ids)
        prev = page.select_one('link[rel="prev"]')
        more = page.select_one("a.tme_messages_more")
        if prev is None:
            assert more is None
            url = None
        else:
            assert prev["href"] == f"/s/{TELEGRAM_CHANNEL}?before={ids[0]}"
            assert more["data-before"] == str(ids[0]) and more["href"] == prev["href"]
            url = f"{site}{prev['href']}"
    assert len(seen) == len(set(seen)) == len(records)
    assert seen == sorted(int(slug) for slug in records)
    assert len(pages[0]) == PAGE_SIZE  # the newest page is full


def test_telegram_message_links_resolve(site):
    page = soup(f"{site}/s/{TELEGRAM_CHANNEL}")
    link = page.select("a.tgme_widget_message_date")[0]["href"]
    number = link.rsplit("/", 1)[1]
    target = soup(link)
    assert target.select_one(f'div[data-post="{TELEGRAM_CHANNEL}/{number}"]') is not None
    oldest = min(int(r["slug"]) for r in by_channel("telegram"))
    target = soup(f"{site}/s/{TELEGRAM_CHANNEL}/{oldest}")
    assert target.select_one(f'div[data-post="{TELEGRAM_CHANNEL}/{oldest}"]') is not None


# -- the rest of the site ------------------------------------------------------------------


def test_home_links_the_three_sources(site):
    hrefs = {a["href"] for a in soup(f"{site}/").select("a")}
    assert {"/jobs/", "/blog/", f"/s/{TELEGRAM_CHANNEL}"} <= hrefs


def test_robots_allows_everything_but_admin(site):
    status, content_type, text = fetch(f"{site}/robots.txt")
    assert status == 200 and content_type.startswith("text/plain")
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(text.splitlines())
    assert robots.can_fetch("WaspadaBot", f"{site}/jobs/")
    assert robots.can_fetch("WaspadaBot", f"{site}/s/{TELEGRAM_CHANNEL}")
    assert not robots.can_fetch("WaspadaBot", f"{site}/admin/")
    assert robots.crawl_delay("WaspadaBot") is None


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/admin/",
        "/jobs/no-such-job/",
        "/jobs/?page=0",
        "/jobs/?page=99",
        "/jobs/?page=abc",
        "/blog/2026/11/no-such-post/",
        "/s/some_other_channel",
        f"/s/{TELEGRAM_CHANNEL}?before=abc",
        f"/s/{TELEGRAM_CHANNEL}?before=1",
        f"/s/{TELEGRAM_CHANNEL}/1",
    ],
)
def test_unknown_pages_are_404(site, path):
    status, content_type, _ = fetch(f"{site}{path}")
    assert status == 404 and content_type.startswith("text/html")


# -- hostile text --------------------------------------------------------------------------


def hostile_ads(tmp_path: Path) -> Path:
    base = {
        "title": f"Title {HOSTILE}",
        "company": f"PT {HOSTILE}",
        "location": HOSTILE,
        "country": "KH",
        "salary_text": HOSTILE,
        "salary": {"currency": "USD", "min": 1, "max": 2, "unit": "MONTH"},
        "posted_at": "2026-11-05T10:00:00+07:00",
        "body": f'line one {HOSTILE}\nsee https://x.example/"><script>alert(3)</script> @evil_handle',
        "label": 1,
        "category": "tppo",
        "hard": False,
        "note": "secret note",
    }
    records = [
        dict(base, id="h-1", channel="jobboard", slug="hostile-job"),
        dict(base, id="h-2", channel="blog", slug="hostile-post"),
        dict(base, id="h-3", channel="telegram", slug="7"),
    ]
    path = tmp_path / "ads.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_hostile_text_is_escaped_everywhere(tmp_path):
    server, base = serve_in_thread(port=0, ads_path=hostile_ads(tmp_path))
    try:
        pages = {
            path: fetch(f"{base}{path}")
            for path in ("/jobs/", "/jobs/hostile-job/", "/blog/", "/blog/2026/11/hostile-post/",
                         f"/s/{TELEGRAM_CHANNEL}", f"/s/{TELEGRAM_CHANNEL}/7")
        }  # fmt: skip
        for path, (status, _, text) in pages.items():
            assert status == 200, path
            markup = BeautifulSoup(text, "lxml")
            scripts = markup.find_all("script")
            # Only the job detail page has a script: the JSON-LD the server itself wrote.
            assert len(scripts) == (1 if path == "/jobs/hostile-job/" else 0), path
            assert markup.find("img") is None and markup.find(onerror=True) is None, path
            for script in scripts:
                assert script["type"] == "application/ld+json"
                # Inside JSON-LD the text is data; it must not be able to end or nest the tag.
                assert "</" not in script.string and "<!--" not in script.string
                assert "<script" not in script.string.lower()
                script.decompose()
            text = str(markup)
            assert "<script>alert" not in text, path
            assert "<img src=x" not in text, path
            assert "secret note" not in text
        detail = BeautifulSoup(pages["/jobs/hostile-job/"][2], "lxml")
        # Exactly one script element: the ad could not open another or close this one.
        scripts = detail.find_all("script")
        assert len(scripts) == 1
        data = json.loads(scripts[0].string)
        assert data["title"] == f"Title {HOSTILE}"
        assert data["hiringOrganization"]["name"] == f"PT {HOSTILE}"
        assert data["description"].startswith(f"line one {HOSTILE}")
        assert detail.select_one("h1").get_text() == f"Title {HOSTILE}"
        # The feed stays well-formed XML and gives the text back unchanged.
        status, _, feed = fetch(f"{base}/blog/feed/")
        item = ET.fromstring(feed.encode()).find("./channel/item")
        assert item.findtext("title") == f"Title {HOSTILE}"
        content = item.findtext(f"{CONTENT_NS}encoded")
        assert "<script>alert" not in content and "<img src=x" not in content
        assert HOSTILE in BeautifulSoup(content, "lxml").get_text()
        tg = BeautifulSoup(pages[f"/s/{TELEGRAM_CHANNEL}"][2], "lxml")
        text = tg.select_one("div.tgme_widget_message_text")
        assert text.find("script") is None and text.find("img") is None
        assert [a["href"] for a in text.find_all("a")] == [
            "https://x.example/",
            "https://t.me/evil_handle",
        ]
    finally:
        shutdown_server(server)


# -- errors a user can hit -----------------------------------------------------------------


def test_refuses_non_loopback_hosts():
    with pytest.raises(WaspadaError, match="loopback"):
        make_server(host="0.0.0.0", port=0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json\n", "not valid JSON"),
        ('{"id": "x"}\n', "missing"),
        (
            '{"id": "x", "channel": "fax", "slug": "a", "title": "t", "posted_at": "2026-11-01",'
            ' "body": "b"}\n',
            "channel",
        ),
        (
            '{"id": "x", "channel": "jobboard", "slug": "../etc", "title": "t",'
            ' "posted_at": "2026-11-01", "body": "b"}\n',
            "slug",
        ),
    ],
)
def test_bad_ads_file_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "ads.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WaspadaError, match=message) as info:
        make_server(port=0, ads_path=path)
    assert "\n" not in str(info.value)


def test_missing_ads_file_is_one_clear_error(tmp_path):
    with pytest.raises(WaspadaError, match="not found"):
        make_server(port=0, ads_path=tmp_path / "absent.jsonl")


def test_cli_help_and_host_check():
    runner = CliRunner()
    result = runner.invoke(demo_site, ["--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "waspada demo-site --port" in result.output
    result = runner.invoke(demo_site, ["--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "loopback" in result.output and "Traceback" not in result.output
