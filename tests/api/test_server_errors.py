"""A failure of the server itself: OpenAI's error JSON, and a connection the client can go on
using."""

from __future__ import annotations

import http.client
import io
import json
import shutil

import httpx
from PIL import Image

from tests.conftest import StartServer


def test_a_keep_alive_client_goes_on_after_a_500(make_server: StartServer) -> None:
    server = make_server()
    # A file where the uploads folder should be: the disk refuses every upload, as a full or
    # broken one would, and nothing in troupe expects that.
    uploads = server.data_dir / "blobs" / "uploads"
    shutil.rmtree(uploads, ignore_errors=True)
    uploads.write_bytes(b"")
    picture = io.BytesIO()
    Image.new("RGB", (32, 18), (40, 90, 200)).save(picture, format="PNG")
    form = httpx.Request(
        "POST",
        server.base_url,
        data={"prompt": "a kite"},
        files={"input_reference": ("scene.png", picture.getvalue(), "image/png")},
    )
    headers = {
        "Content-Type": form.headers["Content-Type"],
        "Authorization": f"Bearer {server.api_key}",
    }
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("POST", "/v1/videos", form.read(), headers)
        failed = connection.getresponse()
        error = json.loads(failed.read())["error"]
        assert (failed.status, error["code"]) == (500, "internal_error")
        assert "Traceback" not in error["message"]
        # The same connection object: http.client reconnects only when told the server closes.
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    assert "unhandled error on POST /v1/videos" in server.log_path.read_text()
