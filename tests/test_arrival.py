"""When an analysis arrives, the reading screen's entity work is done off the UI thread (item 19 of issue 18):
on a long document it held every key for 0.3-0.5 s."""

from __future__ import annotations

import threading

from reader.session import AnnotationSession
from reader.ui.app import ReaderApp
from reader.ui.screens.reading import ReadingScreen


async def wait_for_analysis(app, pilot) -> ReadingScreen:
    for _ in range(500):
        await pilot.pause(0.02)
        if isinstance(app.screen, ReadingScreen) and app.screen.analysis is not None:
            break
    await app.workers.wait_for_complete()
    await pilot.pause()
    return app.screen


async def test_the_entity_marks_of_a_new_analysis_are_computed_off_the_ui_thread(workspace, monkeypatch):
    threads: list[str] = []
    original = AnnotationSession.entities

    def entities(self, predicted):
        threads.append(threading.current_thread().name)
        return original(self, predicted)

    monkeypatch.setattr(AnnotationSession, "entities", entities)
    app = ReaderApp(workspace, workspace.document_ids())
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await wait_for_analysis(app, pilot)
        assert threads and threading.main_thread().name not in threads, threads
        assert screen.entities == original(screen.session, screen.analysis.entities)
        assert [(m.start, m.end, m.label, m.status) for m in screen.view.marks] == \
            [(e.start, e.end, e.label, e.status) for e in screen.entities]
        assert screen.query_one("#entity-list").option_count > 0


async def test_marks_made_before_a_change_are_not_used(workspace):
    """A decision taken while the worker computed (its version is older) is not lost from the screen."""
    from reader.ui.screens.reading import AnalysisReady, EntityMarks

    app = ReaderApp(workspace, workspace.document_ids())
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await wait_for_analysis(app, pilot)
        session = screen.session
        stale = EntityMarks(session.version, list(screen.entities), list(screen.view.marks), [])
        first = screen.entities[0]
        session.decide(first, "rejected")
        screen.post_message(AnalysisReady(screen.doc.id, screen.analysis, True, stale))
        await pilot.pause()
        assert screen.entities[0].status == "rejected"
        assert screen.view.marks[0].status == "rejected"
