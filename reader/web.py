"""Articles from the web: saved pages, URLs and RSS/Atom feeds become documents like any file. trafilatura finds
the article, feedparser reads feeds, both imported where used (the first paint never pays for them); a saved page
and its URL give the same document (same bytes, same extraction) but for `source`."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import html
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reader import __version__
from reader.documents import Document, DocumentError, build_document, is_url
from reader.untrusted import clean_text

PAGE_SUFFIXES = (".html", ".htm")
USER_AGENT = f"reader/{__version__} (news annotation; +https://pypi.org/project/reader/)"
TIMEOUT = 20.0  # seconds for the connection and each read; the whole download stops after DEADLINE
DEADLINE = 60.0
MAX_DOWNLOAD = 10 * 1024 * 1024  # a news page is well under 2 MB
MIN_WORDS = 60  # fewer, with no article markup: a teaser or an empty page
MIN_BRIEF_WORDS = 15  # a brief is an article when its page says so; fewer words: its body is missing

HTML_TYPES = {"text/html", "application/xhtml+xml"}
FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml",
              "application/feed+xml"}
Stored = Callable[[], Iterable[Document]]  # the store's documents, asked for when a feed is read
Report = Callable[[str], None]  # where a feed says which item failed while the others are imported

_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]")
_HTML_ROOT = re.compile(rb"<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_PASSWORD = re.compile(r"""<input[^>]+type\s*=\s*["']?password""", re.IGNORECASE)
_ARTICLE_MARKUP = re.compile(
    r"""<meta[^>]+(?:property|name)\s*=\s*["']?article:published_time|"@type"\s*:\s*"(?:News|Reportage|"""
    r"""Analysis|Report|Opinion|Review|Background)?Article"|itemtype\s*=\s*["']?https?://schema\.org/\w*Article""",
    re.IGNORECASE)
_TEASER = re.compile(
    r"r[ée]serv[ée]e?s?\s+(?:aux|à nos)\s+abonn[ée]s|il\s+vous\s+reste\s+\d+\s*%|la\s+suite\s+est\s+r[ée]serv"
    r"""|<[^>]+class\s*=\s*["'][^"']*\bpaywall|subscribers?[\s-]+only|subscribe\s+to\s+(?:continue|read)""",
    re.IGNORECASE)
_ARTICLE_ELEMENT = re.compile(r"<article\b.*?</article\s*>", re.IGNORECASE | re.DOTALL)
_WS = re.compile(r"[^\S\n]+")
_READ_ALSO = re.compile(r"\W*(?:à\s+)?(?:lire|voir|relire|écouter)\s+(?:aussi|également|encore)\b|\W*(?:read|see)\s+"
                        r"(?:more|also)\b", re.IGNORECASE)
"""A short paragraph starting so is a link to another article ("Lire aussi : ..."), left in by many feeds."""


def is_feed(data: bytes) -> bool:
    """RSS, RDF or Atom by content (file suffixes and server types lie): its root element comes before any HTML."""
    feed = _FEED_ROOT.search(data, 0, 4096)
    return feed is not None and _HTML_ROOT.search(data, 0, feed.start()) is None


def looks_like_html(data: bytes) -> bool:
    return _HTML_ROOT.search(data[:4096]) is not None


def decode_html(data: bytes, charset: str | None = None) -> str:
    """Bytes to text by the server's charset, else `<meta charset>`, UTF-8, Windows-1252 (older French sites):
    decided here rather than by the extractor, so a file and its URL decode alike."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    m = _META_CHARSET.search(data[:4096])
    for candidate in filter(None, (charset, m and m.group(1).decode("ascii"), "utf-8")):
        with contextlib.suppress(LookupError, UnicodeDecodeError):
            return data.decode(candidate)
    return data.decode("cp1252", errors="replace")


def page_document(data: bytes, *, where: str, source: str, url: str | None = None, charset: str | None = None,
                  fallback: dict[str, str] | None = None) -> Document:
    """The article of a page as a document, or DocumentError why not; `fallback`: meta the page may lack."""
    markup = decode_html(data, charset)
    extracted = extract(markup)
    text = clean_text(extracted.text if extracted else "")
    if extracted is None or not text.strip():
        raise DocumentError(f"{where}: not an article (no article text found in the page)")
    if reason := refusal(text, markup, extracted):
        raise DocumentError(f"{where}: not an article ({reason})")
    meta = {key: value for key, value in (fallback or {}).items() if value} | extracted.meta
    meta.setdefault("url", url or "")
    sitename = meta.get("sitename") or (meta["url"] and urlsplit(meta["url"]).hostname) or ""
    meta["sitename"] = sitename.removeprefix("www.")
    meta["source"] = source
    return build_document(text, {key: value for key, value in meta.items() if value}, where)


@dataclass(frozen=True)
class Extracted:
    text: str
    meta: dict[str, str]
    pagetype: str | None


def extract(markup: str) -> Extracted | None:
    """trafilatura's main text and metadata; paragraphs kept as paragraphs (a blank line between them)."""
    import trafilatura

    found = trafilatura.bare_extraction(markup, with_metadata=True, include_comments=False, include_tables=True,
                                        include_images=False,
                                        date_extraction_params={"extensive_search": False, "original_date": True})
    if found is None or found.body is None:
        return None
    paragraphs = [p for p in blocks(found.body) if not _READ_ALSO.match(p) or len(p.split()) > 30]
    if paragraphs and found.title and _same(paragraphs[0], found.title):
        paragraphs = paragraphs[1:]  # the headline is the title (meta), not the first paragraph
    text = "\n\n".join(paragraphs)
    meta = {"title": found.title, "author": found.author, "date": found.date, "sitename": found.sitename,
            "url": found.url}
    return Extracted(text, {k: v for k, v in meta.items() if isinstance(v, str) and v.strip()}, found.pagetype)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def blocks(body: Any) -> Iterator[str]:
    """The paragraphs of trafilatura's body tree (a list or a table one block of lines, `<br>` a line break)."""
    for child in body:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "list":
            text = "\n".join(f"- {inline(item)}" for item in child if item.tag == "item" and inline(item))
        elif tag == "table":
            text = "\n".join(" · ".join(inline(c) for c in row if inline(c)) for row in child.iter("row"))
        elif tag in ("quote", "div", "section", "article") and any(c.tag in ("p", "list", "head") for c in child):
            yield from blocks(child)
            continue
        elif tag:
            text = inline(child)
        else:
            continue
        if text.strip():
            yield text


def inline(element: Any) -> str:
    for lb in element.iter("lb"):
        lb.text = "\n"  # trafilatura's tree is ours to change
    lines = (_WS.sub(" ", line).strip() for line in "".join(element.itertext()).split("\n"))
    return "\n".join(line for line in lines if line)


def refusal(text: str, markup: str, extracted: Extracted) -> str | None:
    """Why a page is not an article (an index, a login wall, a teaser), by its structure: a short text is a brief
    when the page marks itself as an article and shows no login form nor subscribers-only teaser."""
    if extracted.pagetype in ("website", "profile") and "date" not in extracted.meta:
        return f"an index page: og:type {extracted.pagetype}, no publication date"
    paragraphs = text.split("\n\n")
    lengths = sorted(len(p.split()) for p in paragraphs)
    if len(paragraphs) >= 8 and lengths[len(lengths) // 2] < 10:
        return f"an index page: {len(paragraphs)} headlines, no article body"
    words = len(extracted.text.split())
    if words >= MIN_WORDS:
        return None  # the article, or as much of it as the page gives (a paywalled article's free part)
    scope = "".join(_ARTICLE_ELEMENT.findall(markup)) or markup  # not a login box in the site's header
    if _PASSWORD.search(scope):
        return f"only {words} words of text: a login wall"
    if _TEASER.search(scope) or _TEASER.search(text):
        return f"only {words} words of text: a teaser, the rest is for subscribers"
    if extracted.pagetype != "article" and _ARTICLE_MARKUP.search(markup) is None:
        return f"only {words} words of text and no article markup: a teaser or an empty page?"
    if words < MIN_BRIEF_WORDS:
        return f"only {words} words of text in an article page: its body is missing, perhaps drawn by scripts"
    return None


@dataclass(frozen=True)
class Fetched:
    url: str  # redirects followed
    data: bytes
    content_type: str | None
    charset: str | None


def fetch(url: str, *, where: str | None = None) -> Fetched:
    """GET a page or feed (a size limit, a deadline), or DocumentError in one line about `where`."""
    import http.client
    import socket
    import urllib.error
    import urllib.request

    class Redirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            if not is_url(newurl):
                raise DocumentError(f"{where}: redirected to {newurl!r:.80}, which is not a web address")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.build_opener(Redirects)  # every redirect checked, so no file:// nor ftp:// is opened
    request = urllib.request.Request(url, headers={
        "User-Agent": USER_AGENT,
        "Accept": "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/xml;q=0.9,"
                  "*/*;q=0.5",
        "Accept-Language": "fr,en;q=0.5",
    })
    where = where or url
    too_large = f"{where}: larger than {MAX_DOWNLOAD / 2**20:g} MB, not a news page"
    deadline = time.monotonic() + DEADLINE
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            headers = response.headers
            announced = headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > MAX_DOWNLOAD:
                raise DocumentError(too_large)
            data = bytearray()
            while chunk := response.read(64 * 1024):
                data += chunk
                if len(data) > MAX_DOWNLOAD:
                    raise DocumentError(too_large)
                if time.monotonic() > deadline:
                    raise DocumentError(f"{where}: still downloading after {DEADLINE:.0f} s, given up")
            return Fetched(response.geturl(), bytes(data), headers.get("Content-Type") and headers.get_content_type(),
                           headers.get_content_charset())
    except urllib.error.HTTPError as exc:
        raise DocumentError(f"{where}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, socket.gaierror):
            reason = "unknown host"
        elif isinstance(reason, OSError):
            reason = reason.strerror or reason
        raise DocumentError(f"{where}: cannot connect ({reason})") from None
    except TimeoutError:
        raise DocumentError(f"{where}: no answer within {TIMEOUT:.0f} s") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DocumentError(f"{where}: cannot fetch ({exc.__class__.__name__}: {exc})") from None


def load_url(url: str, stored: Stored | None = None, report: Report | None = None) -> list[Document]:
    """A URL's article (one document) or a feed's items: what it is comes from the answer, not the address."""
    fetched = fetch(url)
    kind = fetched.content_type
    if is_feed(fetched.data) and (kind is None or kind in FEED_TYPES | HTML_TYPES | {"text/plain"}):
        return load_feed(fetched.data, where=url, feed_url=fetched.url, stored=stored, report=report)
    if kind in HTML_TYPES or (kind in (None, "text/plain") and looks_like_html(fetched.data)):
        return [page_document(fetched.data, where=url, source=url, url=fetched.url, charset=fetched.charset)]
    raise DocumentError(f"{url}: not a web page or a feed (the server sent {kind or 'no content type'})")


def load_feed(data: bytes, *, where: str, feed_url: str | None = None, stored: Stored | None = None,
              report: Report | None = None) -> list[Document]:
    """Every item of a feed: its content, else its link fetched unless stored; a failed item reported, not raised."""
    import feedparser

    headers = {"content-location": feed_url} if feed_url else {}
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=False, resolve_relative_uris=True)
    if not parsed.entries:
        problem = f" ({parsed.bozo_exception})" if parsed.get("bozo") else ""
        raise DocumentError(f"{where}: a feed with no items{problem}")
    site = parsed.feed.get("title") or ""
    known: dict[str, Document] = {}
    for doc in stored() if stored else ():
        for key in ("url", "source"):
            if is_url(value := doc.meta.get(key)):  # a str naming a web address
                known.setdefault(value, doc)
    docs: list[Document] = []
    for number, entry in enumerate(parsed.entries, 1):
        link = entry.get("link") or ""
        item = f"{where} item {number}" + (f" ({link})" if link else "")
        try:
            docs.append(known.get(link) or feed_item(entry, item, link=link, fallback={
                "title": entry.get("title") or "", "date": entry_date(entry), "author": entry.get("author") or "",
                "sitename": site, "feed": where if is_url(where) else Path(where).name,
            }))
        except DocumentError as exc:
            if report:
                report(f"warning: {exc}")
    if not docs:  # every item failed (there is at least one)
        raise DocumentError(f"{where}: none of its {len(parsed.entries)} items could be imported")
    return docs


def feed_item(entry: Any, where: str, *, link: str, fallback: dict[str, str]) -> Document:
    """One item: the content the feed carries (`content:encoded`, Atom `content`), else the page at its link."""
    if (content := next((c for c in entry.get("content") or () if c.get("value", "").strip()), None)) is not None:
        value = content["value"]
        if "html" not in (content.get("type") or "text/html"):
            value = "".join(f"<p>{html.escape(p)}</p>" for p in value.split("\n\n"))
        page = f"<html><head><meta charset=\"utf-8\"></head><body><article>{value}</article></body></html>"
        return page_document(page.encode("utf-8"), where=where, source=link or where, url=link or None,
                             fallback=fallback)
    if not link:
        raise DocumentError(f"{where}: neither content nor a link to read it at")
    fetched = fetch(link, where=where)
    if fetched.content_type not in HTML_TYPES and not looks_like_html(fetched.data):
        raise DocumentError(f"{where}: not a web page (the server sent {fetched.content_type or 'no content type'})")
    return page_document(fetched.data, where=where, source=link, url=fetched.url, charset=fetched.charset,
                         fallback=fallback)


def entry_date(entry: Any) -> str:
    """An item's publication date as ISO 8601 (its own day, in its own time zone), or ''."""
    for key in ("published", "updated", "created"):
        if not (value := entry.get(key)):
            continue
        for parse in (email.utils.parsedate_to_datetime, dt.datetime.fromisoformat):
            with contextlib.suppress(TypeError, ValueError, IndexError):
                return parse(value).date().isoformat()
        if parsed := entry.get(f"{key}_parsed"):
            return time.strftime("%Y-%m-%d", parsed)
    return ""
