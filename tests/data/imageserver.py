"""A loopback HTTP image server for the download tests and benchmarks (127.0.0.1 only, threads, no network)."""

from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image


def make_jpeg(i: int, size: tuple[int, int] = (96, 64)) -> bytes:
    img = Image.new("RGB", size, ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256))
    img.putpixel((i % size[0], 0), (255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def make_huge_png(side: int = 6000) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (side, side), 0).save(buf, "PNG", optimize=True)  # ~40 KB on the wire, 36 Mpx decoded
    return buf.getvalue()


class ImageServer:
    """Routes: /img/N.jpg (ok), /404/N, /500/N, /stall/N (sleeps ``stall_s``), /truncated.jpg (half a JPEG),
    /cut.jpg (Content-Length promises more than is sent), /notimage (HTML), /huge.png, /optout.jpg (X-Robots-Tag:
    noai), /flaky/N.jpg (500 until ``flaky_ok`` is set). ``delay_s`` slows every /img/ answer."""

    def __init__(self, stall_s: float = 6.0, delay_s: float = 0.0) -> None:
        self.stall_s = stall_s
        self.delay_s = delay_s
        self.flaky_ok = False
        self.files: dict[str, bytes] = {}  # served at /file/<name>
        self.hits = 0
        self.route_hits: dict[str, int] = {}
        self._jpeg_cache: dict[int, bytes] = {}
        self._huge = make_huge_png()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(
                self,
                code: int,
                body: bytes,
                ctype: str = "image/jpeg",
                headers: dict | None = None,
                length: int | None = None,
            ) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.send_header("Connection", "close")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def do_GET(self) -> None:
                server.hits += 1
                path = self.path.split("?")[0]
                parts = path.strip("/").split("/")
                head = parts[0]
                server.route_hits[head] = server.route_hits.get(head, 0) + 1
                num = int("".join(ch for ch in parts[-1] if ch.isdigit())[:9] or 0)
                if head == "img":
                    if server.delay_s:
                        time.sleep(server.delay_s)
                    self._send(200, server.jpeg(num))
                elif head == "404":
                    self._send(404, b"not found", "text/plain")
                elif head == "500":
                    self._send(500, b"boom", "text/plain")
                elif head == "stall":
                    server._stop.wait(server.stall_s)
                    self._send(200, server.jpeg(num))
                elif head == "truncated.jpg":
                    data = server.jpeg(7, (200, 160))
                    self._send(200, data[: len(data) // 2])
                elif head == "cut.jpg":
                    data = server.jpeg(8, (200, 160))
                    self._send(200, data[: len(data) // 2], length=len(data))
                elif head == "notimage":
                    self._send(200, b"<html><body>no image here</body></html>", "text/html")
                elif head == "huge.png":
                    self._send(200, server._huge, "image/png")
                elif head == "optout.jpg":
                    self._send(200, server.jpeg(9), headers={"X-Robots-Tag": "noai, noimageai"})
                elif head == "file" and len(parts) == 2 and parts[1] in server.files:
                    self._send(200, server.files[parts[1]], "application/octet-stream")
                elif head == "flaky":
                    if server.flaky_ok:
                        self._send(200, server.jpeg(1000 + num))
                    else:
                        self._send(500, b"try later", "text/plain")
                else:
                    self._send(404, b"unknown route", "text/plain")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def jpeg(self, i: int, size: tuple[int, int] = (96, 64)) -> bytes:
        key = i if size == (96, 64) else -i - 1
        if key not in self._jpeg_cache:
            self._jpeg_cache[key] = make_jpeg(i, size)
        return self._jpeg_cache[key]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> ImageServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def write_records(path: Path, records: list, extra_lines: tuple[str, ...] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
        for line in extra_lines:
            f.write(line + "\n")
    return path


def record(key: str, url: str, i: int = 0) -> dict:
    return {
        "ImageKey": key,
        "ImageUrl": url,
        "Title": f"标题 {key}",
        "Content": f"图片周围的文字 {i}",
        "Keywords": "测试 图片",
        "Url": f"http://page.invalid/{key}",
        "ImageQuery": f"查询{i}",
    }
