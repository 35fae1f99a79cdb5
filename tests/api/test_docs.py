"""The reference pages work without internet: everything they load comes from this server."""

from __future__ import annotations

import re

import pytest

from tests.support import ServerProcess

ASSET_REFERENCE = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize(
    ("page", "types"),
    [
        ("/docs", {"text/javascript", "text/css", "image/png"}),
        ("/redoc", {"text/javascript", "image/png"}),
    ],
)
def test_a_reference_page_loads_only_this_servers_files(
    server: ServerProcess, page: str, types: set[str]
) -> None:
    with server.client(api_key="") as client:
        answer = client.get(page)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/html")
        # No address of another site anywhere in the page, not even a font.
        assert re.findall(r"https?://[^\s'\"<>]+", answer.text) == []
        references = ASSET_REFERENCE.findall(answer.text)
        assert "/openapi.json" in references
        assets = [url for url in references if url != "/openapi.json"]
        assert assets and all(url.startswith("/docs/assets/") for url in assets)
        seen = set()
        for url in assets:
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 1000, url
            seen.add(asset.headers["content-type"].split(";")[0])
        assert seen == types


def test_only_the_pages_files_are_served(server: ServerProcess) -> None:
    with server.client(api_key="") as client:
        assert client.get("/docs/assets/core.py").status_code == 404
        assert client.get("/docs/assets/..%2Fcore.py").status_code == 404


def references_in(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in references_in(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in references_in(value)]
    return []


def test_the_documents_error_answers_resolve(server: ServerProcess) -> None:
    """Error answers are documented by reference (built lazily); every reference must resolve."""
    with server.client(api_key="") as client:
        document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    prefix = "#/components/schemas/"
    assert {ref.removeprefix(prefix) for ref in references_in(document)} <= set(schemas)
    refused = document["paths"]["/v1/videos"]["post"]["responses"]["400"]
    assert refused["description"] == "Bad Request"
    assert refused["content"]["application/json"]["schema"]["$ref"] == prefix + "ErrorBody"
    assert schemas["ErrorBody"]["properties"]["error"]["$ref"] == prefix + "ErrorDetail"
    assert set(schemas["ErrorDetail"]["required"]) == {"message", "type", "param", "code"}
    accepted = document["paths"]["/v1/videos/characters"]["post"]["responses"]["202"]
    assert accepted["content"]["application/json"]["schema"]["$ref"] == prefix + "TaskObject"
