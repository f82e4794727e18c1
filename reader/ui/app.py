"""The Textual application: wires the workspace to the screens. Kept thin on purpose."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import App, SystemCommand
from textual.content import Content
from textual.screen import Screen

from reader import collector
from reader.ui.keymap import BY_ID, Keymap, bindings, default_keymap, normalise_keys, screen_scopes, textual_keymap
from reader.ui.screens.reading import ReadingScreen
from reader.workspace import Workspace

if TYPE_CHECKING:
    from textual.timer import Timer

    from reader.worklist import ReviewOptions


WRITER_CHECK = 2.0  # seconds between two looks at a read-only reader's lock (microseconds each)


class ReaderApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "reader"
    BINDINGS = bindings("app")
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, workspace: Workspace, doc_ids: list[str] | None = None, *, keymap: Keymap | None = None,
                 review: ReviewOptions | None = None, ask_annotator: Callable[[str], Workspace] | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.review = review  # `reader review`: documents open on the review screen
        self.ask_annotator = ask_annotator  # `reader serve`: opens the store as the analyst who gives their name
        self.served = ask_annotator is not None
        self.writer_check: Timer | None = None
        self.damage_told: set = set()
        if ask_annotator is None:
            self.workspace.isolate_analysis()  # spaCy in a child process: keys answer and `q` quits while it loads
        self.doc_ids = doc_ids  # what the command line named; None: the whole store (its library)
        self.keymap = keymap or default_keymap()
        self._deliveries: dict[str, tuple[str, str]] = {}  # key -> (what to say once written, where it goes)
        self.last_document: str | None = None  # for Esc in a library that is the first screen
        self.set_keymap(textual_keymap(self.keymap))  # before the first screen's footer is composed
        # The footer finds the palette's binding by this key (else it shows whatever owns ctrl+p).
        self.COMMAND_PALETTE_BINDING = normalise_keys(self.keymap.get("reader.command-palette", "ctrl+p"))[0]
        self.notices: list[str] = []  # from before the app started (inputs refused), shown as toasts
        self.kept: list[str] = []  # what was saved on the way out (a note draft): the CLI prints it
        self._key: events.Key | None = None  # the key being handled, for `text_field_takes`

    async def on_event(self, event: events.Event) -> None:
        """Remember the key while Textual looks for its binding: `set_keymap` also binds keys a focused field types."""
        self._key = event if isinstance(event, events.Key) else None
        try:
            await super().on_event(event)
        finally:
            self._key = None

    def text_field_takes(self) -> bool:
        """Whether the key being handled is text for the focused field: then no binding may take it."""
        key, focused = self._key, self.focused
        return (key is not None and focused is not None and key.is_printable
                and focused.check_consume_key(key.key, key.character))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not self.text_field_takes()

    def notify(self, message, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Every toast is plain text: messages carry names and errors that must not be parsed as markup."""
        from reader.untrusted import visible

        text = message.plain if isinstance(message, Content) else str(message)
        super().notify(visible(text), title=visible(title, one_line=True), severity=severity, timeout=timeout,
                       markup=False)

    def get_default_screen(self) -> Screen:
        """The document itself (or the library): no blank screen to paint first."""
        if self.ask_annotator is not None:
            from reader.ui.screens.annotator import AnnotatorScreen

            return AnnotatorScreen()
        return self.first_screen()

    def first_screen(self) -> Screen:
        if self.doc_ids is not None and len(self.doc_ids) == 1:
            return self.document_screen(self.doc_ids[0])
        from reader.ui.screens.library import LibraryScreen

        return LibraryScreen(self.doc_ids)

    def on_mount(self) -> None:
        # What start-up built (the text, its layout, the app) lives as long as the app: frozen out of the scans
        # once the first frame is on screen (the CLI paused the collector until then).
        self._startup = contextlib.ExitStack()
        self._startup.enter_context(collector.paused(keep=True, resume=True))
        self.call_after_refresh(self._startup.close)
        self._exit_on_hangup()
        if self.ask_annotator is None:
            self.announce_read_only()
        for warning in self.keymap.warnings:
            self.notify(warning, title="keymap", severity="warning", timeout=10)
        for notice in self.notices:
            self.notify(notice, severity="warning", timeout=15)

    def announce_read_only(self) -> None:
        if self.workspace.read_only:
            why = self.workspace.read_only_message(live=True, browser=self.served)
            self.notify(f"Read-only: {why}. Until then nothing you do here is saved.", severity="warning",
                        timeout=15)
            if self.workspace.waiting_for_writer and self.writer_check is None:  # a look every few seconds
                self.writer_check = self.set_interval(WRITER_CHECK, self.check_writer, name="writer-check")

    def check_writer(self) -> bool:
        """Take over once the other writer has quit, meanwhile show what it saved; True once this one writes."""
        taken = self.workspace.take_over()
        if taken:
            if self.writer_check is not None:
                self.writer_check.stop()
                self.writer_check = None
            self.notify(f"The other reader of {self.workspace.annotator}'s annotations closed: this one saves "
                        "what you do from now on.", title="Writing", timeout=8)
        screen = self.screen
        if isinstance(screen, ReadingScreen):
            screen.reload_annotations()
            if taken:
                screen.update_status()
        return taken

    def announce_damage(self) -> None:
        """One toast per damaged annotation file, once each."""
        for damage in self.workspace.damage():
            if damage not in self.damage_told:
                self.damage_told.add(damage)
                mine = damage.annotator == self.workspace.annotator
                more = " You can read that document, not annotate it, until then." if mine else ""
                self.notify(f"{damage}.{more}", title="Damaged file", severity="error", timeout=30)

    def start_as(self, annotator: str) -> None:
        """The served reader's analyst gave their name: open the store as them."""
        assert self.ask_annotator is not None
        placeholder, self.workspace = self.workspace, self.ask_annotator(annotator)
        self.ask_annotator = None
        placeholder.close()
        self.workspace.isolate_analysis()
        # The default screen has no result callback, and switching away pops one.
        self.screen._push_result_callback(self.screen, None)
        self.switch_screen(self.first_screen())
        self.announce_read_only()

    def _exit_on_hangup(self) -> None:
        """SIGHUP and SIGTERM end the app as a quit does, so open dialogs keep what they hold (a note draft). A
        hang-up also brings SIGCONT, on which Textual resumes the terminal it just lost, and its two output threads
        then block the exit for ever: so SIGCONT resumes only a terminal that still answers, and after a hang-up
        the output goes to /dev/null."""
        import asyncio
        import os
        import signal
        import termios

        def hung_up() -> None:
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                for fd in (1, 2):
                    os.dup2(devnull, fd)
            self.exit()

        loop = asyncio.get_running_loop()
        for signum, handler in ((signal.SIGHUP, hung_up), (signal.SIGTERM, self.exit)):  # POSIX: termios above
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, handler)
        resume = signal.getsignal(signal.SIGCONT)
        if callable(resume):
            def on_continue(signum, frame) -> None:
                try:
                    termios.tcgetattr(0)  # fails once the terminal has hung up
                except (termios.error, OSError):
                    return
                resume(signum, frame)

            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGCONT, on_continue)

    def on_unmount(self) -> None:
        """Kill the analysis process: a worker blocked on it ends, so the exit does not wait for spaCy."""
        self.workspace.close_analysis()

    def open_document(self, doc_id: str, at: int | None = None, terms: Sequence[str] = ()) -> None:
        """Open a document from the library, keeping the screen stack at most three deep; from a list of hits, on
        the sentence at offset `at` with the searched `terms` as matches, the list kept below for `o`."""
        self.last_document = doc_id
        if getattr(self.screen, "RESULTS", False):
            self.push_screen(self.document_screen(doc_id).at_hit(at, terms))
            return
        if self.screen_scope(self.screen) == "library" and len(self.screen_stack) > 1:
            below = self.screen_stack[-2]
            self.pop_screen()
            if isinstance(below, ReadingScreen) and below.doc.id == doc_id:
                return
            if len(self.screen_stack) > 2:
                self.switch_screen(self.document_screen(doc_id))
                return
        self.push_screen(self.document_screen(doc_id))

    def document_screen(self, doc_id: str) -> ReadingScreen:
        if self.review is not None:
            from reader.ui.screens.review import ReviewScreen

            return ReviewScreen(self.workspace.document(doc_id), self.review)
        return ReadingScreen(self.workspace.document(doc_id))

    def action_library(self) -> None:
        """Back to the library, or to the list of hits the document was opened from."""
        from reader.ui.screens.library import LibraryScreen

        if len(self.screen_stack) > 1 and self.screen_scope(self.screen_stack[-2]) == "library":
            self.pop_screen()
        else:
            self.push_screen(LibraryScreen())

    @property
    def progress_annotator(self) -> str:
        """Whoever the keys write for: the analyst, or gold under review."""
        return self.review.into if self.review is not None else self.workspace.annotator

    @staticmethod
    def screen_scope(screen: Screen) -> str:
        """The keymap scope of a screen; `dialog` for any other (an editor, a picker, the palette)."""
        return getattr(screen, "SCOPE", "dialog")

    def action_help(self) -> None:
        """The keys of the screen help was opened from."""
        from reader.ui.screens.help import HelpScreen, dialog_rows

        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        scope = self.screen_scope(screen)
        rows = dialog_rows(screen) if scope == "dialog" else getattr(screen, "help_rows", list)()
        self.push_screen(HelpScreen(scope, self.keymap, self.workspace.labels, rows,
                                    entity_labels=self.workspace.entity_labels.labels))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        scope = self.screen_scope(screen)
        for action in BY_ID.values():
            if action.scope not in screen_scopes(scope) or action.id == "reader.command-palette":
                continue
            keys = self.keymap.get(action.id, action.keys).replace(",", ", ")
            yield SystemCommand(action.description, f"{action.id} · {keys}",
                                lambda a=action.action, s=screen: s.run_action(a))
        if isinstance(screen, ReadingScreen):
            for fmt, what in (("jsonl", "native jsonl"), ("prodigy", "Prodigy")):
                yield SystemCommand(f"Download the document's export ({what})",
                                    f"your annotations of this document as {what}: in a browser, a download; "
                                    "in a terminal, a file in your downloads folder",
                                    lambda f=fmt, d=screen.doc.id: self.download_export(d, f))

    @work(thread=True, group="export")
    def download_export(self, doc_id: str, fmt: str) -> None:
        """A served reader's analyst gets the file on their own machine, not on the server."""
        from reader.export import ExportError, export

        try:
            result = export(self.workspace, fmt, None, [doc_id], False, self.workspace.annotator, "strict")
        except ExportError as exc:
            self.call_from_thread(self.notify, f"export failed: {exc}", severity="error")
            return
        text = result.to_bytes().decode("utf-8")
        suffix = ".jsonl" if fmt == "jsonl" else f".{fmt}.jsonl"
        name = f"{doc_id}-{self.workspace.annotator}{suffix}".replace("/", "_").replace(" ", "_")
        folder = None
        if not self.is_web:  # in a terminal the file is saved here: a missing downloads folder is made first
            from platformdirs import user_downloads_path

            folder = user_downloads_path()
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self.call_from_thread(self.notify, f"export not saved: cannot create {folder} ({exc.strerror or exc})",
                                      severity="error", timeout=10)
                return
        where = f"saved to {folder / name}" if folder is not None else f"sent to your browser as {name}"
        done = f"export: {result.count} record(s) of {doc_id} {where}"
        self.call_from_thread(self._deliver, text, folder, name, done)

    def _deliver(self, text: str, folder, name: str, done: str) -> None:
        """On the UI thread: DeliveryComplete must not be handled before the key is known here."""
        import io

        key = self.deliver_text(io.StringIO(text), save_directory=folder, save_filename=name,
                                mime_type="application/jsonl", encoding="utf-8", name="reader-export")
        if key is not None:
            self._deliveries[key] = (done, str(folder / name) if folder is not None else name)

    def on_delivery_complete(self, event) -> None:
        if event.name == "reader-export" and event.key in self._deliveries:
            self.notify(self._deliveries.pop(event.key)[0], timeout=8)

    def on_delivery_failed(self, event) -> None:
        if event.name == "reader-export" and event.key in self._deliveries:
            self.notify(f"export not saved to {self._deliveries.pop(event.key)[1]}: {event.exception}",
                        severity="error", timeout=10)
