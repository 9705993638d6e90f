"""Public Telegram channel preview pages (``t.me/s/<channel>``): one ad per message.

Each message carries ``data-post="<channel>/<id>"``; its ad URL is the post link
``https://t.me/<channel>/<id>`` whatever host served the page, so ids stay stable if the
preview is reached through a mirror. Older messages are reached through ``?before=<id>``
(``link[rel=prev]`` or the ``tme_messages_more`` button).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scrapers.http import normalise_url
from scrapers.parse import compact
from scrapers.text import element_text, parse_html

POST_BASE = "https://t.me/"


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


_MESSAGES = f"//div[{_has_class('tgme_widget_message')}][@data-post]"
_TEXT = f".//div[{_has_class('tgme_widget_message_text')}]"
_DATE = f".//a[{_has_class('tgme_widget_message_date')}]"
_MORE = f"//a[{_has_class('tme_messages_more')}][@data-before]"


@dataclass
class ChannelPage:
    ads: list[dict[str, Any]] = field(default_factory=list)
    older_url: str | None = None


def parse_channel(markup: str | bytes, url: str) -> ChannelPage:
    """The messages of one preview page (oldest first, as shown) and the older page's URL."""
    tree = parse_html(markup)
    page = ChannelPage()
    for message in tree.xpath(_MESSAGES):
        post = message.get("data-post", "").strip().strip("/")
        channel, _, number = post.rpartition("/")
        if not channel or not number.isdigit():
            continue
        texts = message.xpath(_TEXT)
        text = "\n\n".join(t for t in (element_text(el) for el in texts) if t)
        if not text:
            continue  # photo-only or service messages carry no ad text
        links: list[str] = []
        for el in texts:
            for href in el.xpath(".//a/@href"):
                target = normalise_url(str(href), url)
                if target not in links:
                    links.append(target)
        date = message.xpath(_DATE + "//time/@datetime")
        author = message.xpath(f".//*[{_has_class('tgme_widget_message_from_author')}]")
        page.ads.append(
            compact(
                {
                    "url": POST_BASE + post,
                    "text": text,
                    "posted_at": str(date[0]) if date else None,
                    "channel": channel,
                    "message_id": int(number),
                    "links": links,
                    "author": element_text(author[0]) if author else None,
                }
            )
        )
    prev = tree.xpath("//link[@rel='prev']/@href")
    if prev:
        page.older_url = normalise_url(str(prev[0]), url)
    else:
        more = tree.xpath(_MORE)
        if more:
            before = more[0].get("data-before", "")
            if before.isdigit():
                page.older_url = normalise_url(f"?before={before}", url)
    return page
