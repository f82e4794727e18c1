"""Articles from the web: saved pages, URLs and feeds become the article alone, with exact metadata.

Every URL is served by a local HTTP server on 127.0.0.1 inside the tests (an ephemeral port); no test touches
any other address. The pages under tests/data/web/ are made like French news sites: navigation, a cookie
banner, "lire aussi" asides, scripts, a paywall teaser, footers.
"""

from __future__ import annotations

import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reader import __version__, cli
from reader.documents import DocumentError
from reader.loading import load_paths
from reader.store import Store
from reader.untrusted import has_control
from reader.workspace import Workspace

DATA = Path(__file__).resolve().parent / "data" / "web"
CANONICAL = ("https://www.courrier-ouest-info.fr/environnement/2023/09/14/"
             "secheresse-la-loire-a-son-plus-bas-niveau-depuis-1976_4821.html")
ARTICLE_META = {
    "title": "Sécheresse : la Loire à son plus bas niveau depuis 1976",
    "author": "Claire Dubreuil",
    "date": "2023-09-14",
    "sitename": "Le Courrier de l’Ouest-Info",
    "url": CANONICAL,
    "source": "article.html",
    "lang": "fr",
}
FIRST = ("Sous le pont Cessart, à Saumur, les bancs de sable occupent désormais plus de la moitié du lit de la "
         "Loire.")
LAST = ("D’ici là, l’Agence de l’eau Loire-Bretagne appelle chaque habitant à réduire sa consommation d’au moins "
        "10 %.")
BOILERPLATE = [
    "cookie", "Tout accepter", "Continuer sans accepter", "Politique", "Rubriques", "S’abonner", "Se connecter",
    "Accueil", "Publicité", "Partager", "Lire aussi", "À lire aussi", "Canicule", "agriculteurs du Loiret",
    "Il vous reste", "réservée aux abonnés", "Je m’abonne", "Les plus lus", "Rentrée", "Newsletter",
    "Commentaires", "Mentions légales", "Tous droits réservés", "©", "gtag", "dataLayer", "getElementById",
    "Sujets", "Photo Archives",
]
TYPES = {".html": "text/html; charset=utf-8", ".rss": "application/rss+xml", ".atom": "application/atom+xml",
         ".pdf": "application/pdf"}


class Site:
    """A news site on 127.0.0.1: `routes` maps a path to (status, content type, body) or to a redirect."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes] | str] = {}
        self.requests: list[tuple[str, str]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append((self.path, self.headers.get("User-Agent", "")))
                route = site.routes.get(self.path)
                if isinstance(route, str):
                    self.send_response(301)
                    self.send_header("Location", route)
                    self.end_headers()
                    return
                status, kind, body = route or (404, "text/html; charset=utf-8", b"<html><body>Introuvable</body>")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        for path in DATA.iterdir():
            self.serve(f"/{path.name}", path.name)
        self.serve("/eolien.html", "eolien.html", "text/html")  # no charset: the page's <meta> says windows-1252
        self.serve("/fil.atom", "feed-links.atom")
        self.routes["/ancien-lien"] = "/article.html"

    def serve(self, route: str, name: str, kind: str | None = None) -> None:
        body = (DATA / name).read_bytes().replace(b"@BASE@", self.base.encode())
        self.routes[route] = (200, kind or TYPES[Path(name).suffix], body)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def fetched(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """A proxy in the environment would send loopback requests elsewhere."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def site():
    s = Site()
    thread = threading.Thread(target=s.server.serve_forever, daemon=True)
    thread.start()
    yield s
    s.server.shutdown()
    s.server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_one(source) -> object:
    [doc] = load_paths([source])
    return doc


# --- saved pages and URLs ------------------------------------------------------------------------------------


def test_a_saved_page_is_the_article_alone_with_exact_metadata():
    doc = load_one(DATA / "article.html")
    assert dict(doc.meta) == ARTICLE_META
    paragraphs = doc.text.split("\n\n")
    assert len(paragraphs) == 6 and all(p.strip() and "\n" not in p for p in paragraphs)
    assert paragraphs[0].startswith(FIRST) and paragraphs[-1].endswith(LAST)
    assert "« On traverse à pied des endroits où il y avait encore un mètre d’eau en juin »" in paragraphs[1]
    for junk in BOILERPLATE:
        assert junk not in doc.text, junk
    assert not doc.text.startswith(ARTICLE_META["title"])


@pytest.mark.parametrize("name", ["article.html", "greve.html", "festival.html", "eolien.html"])
def test_a_url_gives_the_same_document_as_the_saved_page(site, name):
    saved = load_one(DATA / name)
    fetched = load_one(site.url(f"/{name}"))
    assert (fetched.id, fetched.text) == (saved.id, saved.text)
    assert dict(fetched.meta) == {**saved.meta, "source": site.url(f"/{name}")}
    assert fetched.meta["url"].startswith(("https://www.courrier-ouest-info.fr/", "http://www.presse-atlantique.fr"))
    [(_, agent)] = site.requests
    assert agent.startswith(f"reader/{__version__}")


def test_other_page_layouts_and_charsets():
    greve = load_one(DATA / "greve.html")
    assert {k: greve.meta[k] for k in ("title", "author", "date", "sitename")} == {
        "title": "Grève à la SNCF : le trafic très perturbé vendredi dans l’Ouest", "author": "Thomas Le Guen",
        "date": "2023-09-14", "sitename": "Le Courrier de l’Ouest-Info"}
    assert "Lire aussi" not in greve.text and "Avec votre accord" not in greve.text and "quai" not in greve.text
    festival = load_one(DATA / "festival.html")
    assert festival.text.startswith("Le festival Premiers Plans d’Angers")  # the headline is meta, not text
    assert "Agenda" not in festival.text and "Publicité" not in festival.text and "author" not in festival.meta
    eolien = load_one(DATA / "eolien.html")  # windows-1252, declared only in the page
    assert eolien.meta["title"] == "Éolien en mer : le parc de Saint-Nazaire tourne à plein régime"
    assert "L’État prévoit" in eolien.text and "�" not in eolien.text
    assert eolien.meta["sitename"] == "presse-atlantique.fr"  # no site name: the canonical address's host
    assert "Archives" not in eolien.text and "Abonnement" not in eolien.text


def test_redirects_are_followed_and_the_page_url_kept(site):
    doc = load_one(site.url("/ancien-lien"))
    assert doc.id == load_one(DATA / "article.html").id
    assert doc.meta["source"] == site.url("/ancien-lien") and doc.meta["url"] == CANONICAL


def test_a_page_without_canonical_address_keeps_the_one_it_was_fetched_from(site):
    page = (DATA / "article.html").read_text(encoding="utf-8")
    page = "\n".join(line for line in page.splitlines() if "canonical" not in line and "og:url" not in line)
    site.routes["/sans-canonique.html"] = (200, "text/html; charset=utf-8", page.encode())
    site.routes["/court"] = "/sans-canonique.html"
    doc = load_one(site.url("/court"))
    assert doc.meta["url"] == site.url("/sans-canonique.html") and doc.meta["source"] == site.url("/court")
    assert doc.id == load_one(DATA / "article.html").id


def test_a_folder_of_saved_pages_and_a_feed_told_by_its_content(tmp_path):
    shutil.copy(DATA / "article.html", tmp_path / "a.html")
    shutil.copy(DATA / "greve.html", tmp_path / "b.htm")
    assert len(load_paths([tmp_path])) == 2
    shutil.copy(DATA / "feed.rss", tmp_path / "flux")
    assert len(load_paths([tmp_path / "flux"])) == 2


@pytest.mark.parametrize(("name", "why"), [("index.html", "an index page"), ("login.html", "a login wall")])
def test_pages_that_are_not_articles_are_refused(site, name, why):
    for source in (DATA / name, site.url(f"/{name}")):
        with pytest.raises(DocumentError, match="not an article") as raised:
            load_paths([source])
        assert why in str(raised.value) and "\n" not in str(raised.value)


def test_an_empty_or_tiny_page_is_refused(tmp_path):
    (tmp_path / "vide.html").write_text("<html><head><title>Rien</title></head><body></body></html>")
    (tmp_path / "court.html").write_text("<html><body><article><p>Un paragraphe de quelques mots seulement."
                                         "</p></article></body></html>")
    for name in ("vide.html", "court.html"):
        with pytest.raises(DocumentError, match="not an article"):
            load_paths([tmp_path / name])


BRIEF = ("Un incendie s’est déclaré dans la nuit de dimanche à lundi dans un entrepôt du port de Nantes-Saint-"
         "Nazaire, à Cheviré. Une soixantaine de pompiers ont été mobilisés. Aucun blessé n’est à déplorer, a "
         "indiqué la préfecture de Loire-Atlantique, qui a ouvert une enquête.")


def test_a_wire_brief_with_article_markup_is_an_article(site):
    from reader import web

    for source in (DATA / "breve.html", site.url("/breve.html")):
        doc = load_one(source)
        assert doc.text == BRIEF and len(doc.text.split()) < web.MIN_WORDS
        assert {k: doc.meta[k] for k in ("title", "author", "date")} == {
            "title": "Nantes : un incendie ravage un entrepôt du port, pas de blessé", "author": "Rédaction avec AFP",
            "date": "2024-12-16"}


def test_two_pages_where_one_is_a_brief_are_both_imported(tmp_path):
    shutil.copy(DATA / "article.html", tmp_path / "a.html")
    shutil.copy(DATA / "breve.html", tmp_path / "b.html")
    assert [d.meta["source"] for d in load_paths([tmp_path])] == ["a.html", "b.html"]


def short_page(body: str, head: str = "") -> str:
    return (f"<html><head><meta charset='utf-8'>{head}</head><body><main><article><h1>Un titre</h1>{body}"
            "</article></main></body></html>")


ARTICLE_HEAD = ('<meta property="og:type" content="article">'
                '<meta property="article:published_time" content="2024-12-16T06:42:00+01:00">')


@pytest.mark.parametrize(("page", "why"), [
    (short_page(f"<p>{BRIEF}</p>"), "no article markup"),  # a short text alone says nothing
    (short_page(f"<p>{BRIEF}</p><div class='paywall'><p>La suite est réservée aux abonnés.</p></div>",
                ARTICLE_HEAD), "a teaser, the rest is for subscribers"),
    (short_page(f"<p>{BRIEF}</p><p>Il vous reste 85 % de cet article à lire.</p>", ARTICLE_HEAD), "a teaser"),
    (short_page("<p>Chargement de l’article en cours…</p>", ARTICLE_HEAD), "its body is missing"),
])
def test_short_pages_that_are_not_briefs_are_refused(tmp_path, page, why):
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    with pytest.raises(DocumentError, match="not an article") as raised:
        load_paths([tmp_path / "page.html"])
    assert why in str(raised.value), str(raised.value)
    site_chrome = ('<header><form><input type="password" name="pw"></form></header><aside><a href="/x">Article '
                   'réservé aux abonnés</a></aside>')  # the site's login box and badges are not this article's
    page = short_page(f"<p>{BRIEF}</p>", ARTICLE_HEAD).replace("<main>", f"{site_chrome}<main>")
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    assert load_one(tmp_path / "page.html").text == BRIEF


def test_fetch_errors_are_one_line(site, closed_port, monkeypatch):
    cases = {
        site.url("/absent.html"): "HTTP 404",
        site.url("/rapport.pdf"): "not a web page or a feed (the server sent application/pdf)",
        f"http://127.0.0.1:{closed_port}/article.html": "cannot connect",
    }
    for url, message in cases.items():
        with pytest.raises(DocumentError) as raised:
            load_paths([url])
        assert str(raised.value).startswith(f"{url}: ") and message in str(raised.value), str(raised.value)
        assert "\n" not in str(raised.value)
    from reader import web

    monkeypatch.setattr(web, "MAX_DOWNLOAD", 1024)
    with pytest.raises(DocumentError, match="larger than"):
        load_paths([site.url("/article.html")])


def test_hostile_strings_in_a_page_are_stored_clean(tmp_path):
    page = (DATA / "article.html").read_text(encoding="utf-8")
    hostile = "Titre \x1b]0;x\x07 [bold]piège[/bold] \x9b31m"
    page = page.replace("Sécheresse : la Loire à son plus bas niveau depuis 1976", hostile)
    page = page.replace("Claire Dubreuil", "Claire\x1b[2J Dubreuil").replace("48 mètres", "48\x1b[31m mètres")
    (tmp_path / "piege.html").write_text(page, encoding="utf-8")
    doc = load_one(tmp_path / "piege.html")
    assert not has_control(doc.text)
    assert not any(has_control(str(value)) for value in doc.meta.values())
    assert doc.meta["title"] == "Titre ]0;x [bold]piège[/bold] 31m"
    assert doc.meta["author"].startswith("Claire")  # what trafilatura makes of the name, without the escape
    assert "48[31m mètres" in doc.text


# --- feeds ---------------------------------------------------------------------------------------------------


def test_an_rss_feed_with_full_content(site):
    loire, maree = load_paths([DATA / "feed.rss"])
    assert loire.id == load_one(DATA / "article.html").id  # the same article as its page
    assert dict(maree.meta) == {
        "title": "Marée noire au large de Belle-Île : les plages de Quiberon fermées",
        "author": "Erwan Le Bihan",
        "date": "2023-09-13",
        "sitename": "Le Courrier de l’Ouest-Info - Environnement",
        "url": "https://www.courrier-ouest-info.fr/environnement/2023/09/13/maree-noire-belle-ile_4813.html",
        "source": "https://www.courrier-ouest-info.fr/environnement/2023/09/13/maree-noire-belle-ile_4813.html",
        "feed": "feed.rss",
        "lang": "fr",
    }
    assert len(maree.text.split("\n\n")) == 3 and "Lire aussi" not in maree.text and "Erika" not in maree.text
    assert [d.id for d in load_paths([site.url("/feed.rss")])] == [loire.id, maree.id]
    assert site.fetched("/feed.rss") == 1 and len(site.requests) == 1  # full content: no page fetched


def test_an_atom_feed_with_links_fetches_each_page(site):
    greve, festival = load_paths([site.url("/fil.atom")])
    assert (greve.id, festival.id) == (load_one(DATA / "greve.html").id, load_one(DATA / "festival.html").id)
    assert greve.meta["source"] == site.url("/greve.html") and greve.meta["feed"] == site.url("/fil.atom")
    assert greve.meta["author"] == "Thomas Le Guen"  # the page's own
    assert festival.meta["author"] == "Marion Besnard"  # the page has none: the feed's
    assert festival.meta["url"].endswith("festival-angers_4820.html")  # the page's canonical address
    assert all(agent.startswith(f"reader/{__version__}") for _, agent in site.requests)


def test_re_reading_a_feed_imports_only_new_items(site, tmp_path):
    store = Store(tmp_path / "store")
    ws = Workspace(store, annotator="tester")
    reports: list[str] = []

    def read():
        docs = load_paths([site.url("/fil.atom")], stored=lambda: map(ws.document, ws.document_ids()),
                          report=reports.append)
        return ws.add_documents(docs)

    assert [r.added for r in read()] == [True, True]
    site.serve("/fil.atom", "feed-links-later.atom")
    results = read()
    assert [(r.document.meta["source"].rsplit("/", 1)[1], r.added) for r in results] == [
        ("eolien.html", True), ("greve.html", False), ("festival.html", False)]
    assert site.fetched("/greve.html") == 1 and site.fetched("/festival.html") == 1  # known links: not fetched
    [line] = reports
    assert line == f"warning: {site.url('/fil.atom')} item 2 ({site.url('/retire.html')}): HTTP 404 Not Found"
    assert len(ws.document_ids()) == 3
    reports.clear()
    assert [r.added for r in read()] == [False, False, False] and len(ws.document_ids()) == 3
    store.close()


def test_a_feed_whose_every_item_fails_is_an_error(site):
    feed = (DATA / "feed-links.atom").read_text(encoding="utf-8").replace("greve", "x").replace("festival", "y")
    site.routes["/casse.atom"] = (200, "application/atom+xml", feed.replace("@BASE@", site.base).encode())
    reports: list[str] = []
    with pytest.raises(DocumentError, match="none of its 2 items could be imported"):
        load_paths([site.url("/casse.atom")], report=reports.append)
    assert len(reports) == 2 and all(r.startswith("warning: ") and "HTTP 404" in r for r in reports)


# --- the command line and the library ------------------------------------------------------------------------


def files(store: Path) -> dict[str, bytes]:
    """The store's data files (not its locks, nor its index: derived, not stored)."""
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*"))
            if p.is_file() and p.name != ".lock" and ".locks" not in p.parts and not p.name.startswith(".index.sqlite")}


def test_cli_errors_are_one_line_and_change_nothing(site, store, closed_port, capsys):
    before = files(store)
    for source, message in [
        (site.url("/absent.html"), "HTTP 404 Not Found"),
        (site.url("/rapport.pdf"), "not a web page or a feed"),
        (f"http://127.0.0.1:{closed_port}/", "cannot connect"),
        (site.url("/index.html"), "not an article"),
        (str(DATA / "index.html"), "not an article"),
        (str(DATA / "login.html"), "not an article"),
    ]:
        for command in (["import"], []):  # `reader URL` imports first too
            status = cli.run([*command, source, "--store", str(store), "--model", "fr_core_news_sm"])
            captured = capsys.readouterr()
            assert status != 0 and captured.out == ""
            [line] = captured.err.splitlines()
            assert line.startswith("error: ") and message in line, line
    assert files(store) == before


def test_reader_url_imports_the_page_and_opens_the_reader(site, store, opened_apps, capsys):
    assert cli.run([site.url("/article.html"), "--store", str(store)]) == 0, capsys.readouterr().err
    doc_id = load_one(DATA / "article.html").id
    assert [app.doc_ids for app in opened_apps] == [[doc_id]]
    stored = Workspace.open(store, read_only=True).document(doc_id)
    assert dict(stored.meta) == {**ARTICLE_META, "source": site.url("/article.html")}


def test_a_folder_of_pages_imports_the_articles_and_refuses_the_login_wall(tmp_path, opened_apps, capsys):
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in ("article.html", "breve.html", "login.html"):
        shutil.copy(DATA / name, pages / name)
    store = tmp_path / "store"
    assert cli.run([str(pages), "--store", str(store)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {pages / 'login.html'}: not an article (only 40 words of text: a login wall)",
        "imported 2, unchanged 0, refused 1",
    ]
    ws = Workspace.open(store, read_only=True)
    assert sorted(ws.document(d).meta["source"] for d in ws.document_ids()) == ["article.html", "breve.html"]
    assert [sorted(ids) for ids in (app.doc_ids for app in opened_apps)] == [sorted(ws.document_ids())]


@pytest.mark.slow
def test_cli_imports_pages_and_feeds_and_export_carries_their_meta(site, tmp_path, capsys, one_model):
    import json

    store = tmp_path / "store"
    common = ["--store", str(store), "--model", "fr_core_news_sm"]
    assert cli.run(["import", str(DATA / "article.html"), *common]) == 0
    first = capsys.readouterr().out
    doc_id = load_one(DATA / "article.html").id
    assert first.startswith(f"{doc_id}  added") and ARTICLE_META["title"] in first
    assert cli.run(["import", site.url("/article.html"), *common]) == 0
    assert capsys.readouterr().out.startswith(f"{doc_id}  unchanged")
    assert cli.run(["import", site.url("/fil.atom"), *common]) == 0
    assert capsys.readouterr().out.count("  added  ") == 2
    site.serve("/fil.atom", "feed-links-later.atom")
    assert cli.run(["import", site.url("/fil.atom"), *common]) == 0
    captured = capsys.readouterr()
    assert [line.split()[1] for line in captured.out.splitlines()] == ["added", "unchanged", "unchanged"]
    assert captured.err.startswith("warning: ") and "HTTP 404" in captured.err
    assert cli.run(["export", "--doc", doc_id, *common]) == 0
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["meta"]["sitename"] == "Le Courrier de l’Ouest-Info" and record["meta"]["date"] == "2023-09-14"
    assert record["meta"]["url"] == CANONICAL and record["meta"]["author"] == "Claire Dubreuil"


async def test_the_library_shows_site_and_date(workspace):
    from reader.ui.app import ReaderApp
    from reader.ui.screens.library import LibraryScreen

    page = load_one(DATA / "greve.html")
    workspace.add_documents([page])
    assert workspace.summary(page.id).site == "Le Courrier de l’Ouest-Info"
    app = ReaderApp(workspace, workspace.document_ids())
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LibraryScreen)
        table = app.screen.query_one("#documents")
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        row = next(r for r in rows if r[0].startswith("Grève"))
        assert row[1] == "2023-09-14" and row[6] == "Le Courrier de l’Ouest-Info"
        seed = next(r for r in rows if not r[0].startswith("Grève"))
        assert seed[6].endswith(".txt")  # a file keeps its name


def test_reading_text_files_never_imports_the_web_libraries():
    """The TUI's start path (opening text files) must not pay for trafilatura, feedparser or urllib.request."""
    import subprocess
    import sys

    code = ("import sys, reader.cli, reader.ui.app, reader.workspace, reader.ui.screens.library;"
            "from reader.loading import load_paths; load_paths(['seeds']);"
            "print(sorted(m for m in ('trafilatura', 'feedparser', 'lxml', 'reader.web', 'urllib.request')"
            " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.stdout.strip() == "[]"
