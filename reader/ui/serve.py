"""`reader serve`: the reader in a browser through textual-serve, one `reader` process per tab. Added: a page that
loads nothing from the internet, app processes in their own session (ctrl+c reaches the server only) that the
server ends itself (a quit message, then a kill), and a quiet log."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

TEMPLATES = Path(__file__).resolve().parent / "templates"
STOP_WAIT = 3.0  # seconds an app process has to quit when asked, before it is killed

log = logging.getLogger("textual-serve")


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ReaderAppService(AppService):
    """One tab's `reader` process, in a session of its own."""

    async def _open_app_process(self, width: int = 80, height: int = 24):
        environment = self._build_environment(width=width, height=height)
        self._process = process = await asyncio.create_subprocess_shell(
            self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=environment, start_new_session=True)
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def end(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.stop(), STOP_WAIT)
        process = self._process
        if process is None or process.returncode is not None:
            return
        try:
            await asyncio.wait_for(process.wait(), STOP_WAIT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            await process.wait()


class ReaderServer(Server):

    def __init__(self, command: str, host: str = "127.0.0.1", port: int = 8000, *, announce=print) -> None:
        super().__init__(command, host=host, port=port, title="reader", templates_path=TEMPLATES)
        self.announce = announce
        self.tabs: dict[web.WebSocketResponse, ReaderAppService] = {}
        self._ending: dict[ReaderAppService, asyncio.Task] = {}

    def initialize_logging(self) -> None:
        logging.basicConfig(level=logging.WARNING, format="%(message)s")

    async def on_startup(self, app: web.Application) -> None:
        self.announce(f"reader: serving on {self.public_url} (ctrl+c stops: every tab is closed, its work saved)")

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every tab first: aiohttp would otherwise wait for the websockets for a minute."""
        tabs = list(self.tabs.items())
        for socket, _ in tabs:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(socket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopped"), 1)
        await asyncio.gather(*(self._end(service) for _, service in tabs), return_exceptions=True)

    def _end(self, service: ReaderAppService) -> asyncio.Task:
        """One ending per process, whoever asks first (its handler or the shutdown)."""
        task = self._ending.get(service)
        if task is None:
            task = self._ending[service] = asyncio.ensure_future(service.end())
        return task

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's handler, with the tab registered for the shutdown."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = _int(request.query.get("width"), 80)
        height = _int(request.query.get("height"), 24)
        service: ReaderAppService | None = None
        try:
            await websocket.prepare(request)
            service = ReaderAppService(self.command, write_bytes=websocket.send_bytes,
                                       write_str=websocket.send_str, close=websocket.close,
                                       download_manager=self.download_manager, debug=self.debug)
            self.tabs[websocket] = service
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # a broken tab must not stop the others
            log.exception(error)
        finally:
            self.tabs.pop(websocket, None)
            if service is not None:
                await self._end(service)
                self._ending.pop(service, None)
        return websocket


def _int(value: Any, default: int) -> int:
    try:
        return max(1, min(int(value), 1000))
    except (TypeError, ValueError):
        return default
