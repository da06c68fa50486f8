"""A loopback stand-in for a Meilisearch server, for request-contract tests.

It records every request and checks each JSON body against the request schemas in
`meili_request_schemas.json` (written from Meilisearch's published OpenAPI document,
closed to unknown fields); a body that fails is answered 400 as Meilisearch would and
recorded in `violations`. Like the real server it refuses a body without
`Content-Type: application/json` (415) and one above its payload limit (413).

State is kept just far enough for the adapter to run: indexes with settings and
documents (documents sent to a missing index create it, without settings, as in
Meilisearch), tasks that succeed at once (or as a test's hook says), keys, swaps. A
search whose filter, sort or facets name an attribute the index's settings do not make
filterable or sortable is refused (400) as Meilisearch refuses it. Search
is NOT Meilisearch's: a document matches when each word or phrase of `q` is one of the
space-separated tokens of its searchable attributes, enough to see which request went
where; what Meilisearch itself matches is tested with `milli` in
`test_search_meili_engine_code.py`.

User-provided embedders follow Meilisearch's document rules (its parser,
crates/milli/src/vector/parsed_vectors.rs, and the embedding extractor): `_vectors.<name>`
is `null` (no vector), an array (of floats, or of arrays of floats) or an object with a
required boolean `regenerate` and optional `embeddings`; `regenerate: true` cannot be
served by a user-provided embedder; vectors must have the declared dimensions; a NEW
document that says nothing for the embedder fails the task ("opt-out for a document with
`_vectors.<name>: null`"), while a replaced or partially updated one keeps its vector.
Vectors are kept apart from the document body and shown only with `retrieveVectors`. A
search with `vector` ranks the documents that have one by cosine similarity (its
`_rankingScore` is (1 + cosine) / 2, not Meilisearch's), then, as Meilisearch does, the
others (score 0). Every search applies the adapter's filter forms (equalities,
comparisons, IS NULL, IN / NOT IN).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import numpy as np

SCHEMAS = json.loads((Path(__file__).parent / "meili_request_schemas.json").read_text(encoding="utf-8"))
NOW = "2026-01-01T00:00:00.000000Z"

# (method, path pattern) → the schema of its body (None: no body expected, "documents":
# a JSON array of objects).
ROUTES: list[tuple[str, re.Pattern[str], str | None]] = [
    (m, re.compile(p), s)
    for m, p, s in [
        ("GET", r"^/health$", None),
        ("GET", r"^/keys$", None),
        ("POST", r"^/keys$", "CreateApiKey"),
        ("GET", r"^/keys/(?P<key>[^/]+)$", None),
        ("DELETE", r"^/keys/(?P<key>[^/]+)$", None),
        ("POST", r"^/indexes$", "IndexCreateRequest"),
        ("GET", r"^/indexes/(?P<uid>[^/]+)$", None),
        ("DELETE", r"^/indexes/(?P<uid>[^/]+)$", None),
        ("GET", r"^/indexes/(?P<uid>[^/]+)/settings$", None),
        ("PATCH", r"^/indexes/(?P<uid>[^/]+)/settings$", "Settings"),
        ("POST", r"^/indexes/(?P<uid>[^/]+)/documents$", "documents"),
        ("PUT", r"^/indexes/(?P<uid>[^/]+)/documents$", "documents"),
        ("POST", r"^/indexes/(?P<uid>[^/]+)/documents/delete$", "DocumentDeletionByFilter"),
        ("POST", r"^/indexes/(?P<uid>[^/]+)/documents/fetch$", "BrowseQuery"),
        ("GET", r"^/indexes/(?P<uid>[^/]+)/stats$", None),
        ("POST", r"^/indexes/(?P<uid>[^/]+)/search$", "SearchQuery"),
        ("POST", r"^/multi-search$", "FederatedSearch"),
        ("POST", r"^/swap-indexes$", "SwapIndexes"),
        ("GET", r"^/tasks/(?P<task>\d+)$", None),
    ]
]
PAYLOAD_LIMIT = 100 * 1024 * 1024


def validator(name: str) -> jsonschema.protocols.Validator:
    if name == "SwapIndexes":
        schema = {"type": "array", "items": {"$ref": "#/$defs/SwapIndexesPayload"}}
    else:
        schema = {"$ref": f"#/$defs/{name}"}
    return jsonschema.Draft202012Validator({**schema, "$defs": SCHEMAS["$defs"]})


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any = None


@dataclass
class Index:
    uid: str
    primary_key: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Document id → embedder name → its vectors (user-provided embedders only).
    vectors: dict[str, dict[str, list[list[float]]]] = field(default_factory=dict)

    def user_provided(self) -> dict[str, int]:
        """Name → dimensions of the user-provided embedders in the settings."""
        embedders = self.settings.get("embedders") or {}
        return {n: int(e.get("dimensions") or 0) for n, e in embedders.items() if e.get("source") == "userProvided"}

    def write(self, docs: list[dict[str, Any]], *, merge: bool, skip_creation: bool = False) -> None:
        """Add or replace (`merge`: update) documents as Meilisearch does, vectors included;
        raises `TaskFailed` for the whole batch as Meilisearch fails the whole task."""
        embedders = self.user_provided()
        staged = []
        for doc in docs:
            doc_id = str(doc["id"])
            exists = doc_id in self.documents
            if skip_creation and not exists:
                continue
            given = doc.get("_vectors")
            if given is not None and not isinstance(given, dict):
                raise TaskFailed("invalid_vectors_type", f"`_vectors` of document `{doc_id}` is not an object")
            vectors = dict(self.vectors.get(doc_id, {})) if exists else {}
            for name, dimensions in embedders.items():
                if given is None or name not in given:
                    if not exists:
                        raise TaskFailed(
                            "vector_embedding_error",
                            f"While embedding documents for embedder `{name}`: no vectors provided for document "
                            f"`{doc_id}`\n- Hint: opt-out for a document with `_vectors.{name}: null`",
                        )
                    continue
                vectors[name] = _parse_vectors(doc_id, name, given[name], dimensions)
            body = {k: v for k, v in doc.items() if k != "_vectors"}
            if merge and exists:
                body = {**self.documents[doc_id], **body}
            staged.append((doc_id, body, vectors))
        for doc_id, body, vectors in staged:
            self.documents[doc_id] = body
            self.vectors[doc_id] = vectors


class TaskFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _parse_vectors(doc_id: str, name: str, value: Any, dimensions: int) -> list[list[float]]:
    """The vectors one `_vectors.<name>` value gives (see the module docstring)."""
    embeddings = value
    if isinstance(value, dict):
        unknown = set(value) - {"regenerate", "embeddings"}
        if unknown or not isinstance(value.get("regenerate"), bool):
            raise TaskFailed("invalid_vectors_type", f"`_vectors.{name}` of `{doc_id}`: bad fields {sorted(value)}")
        if value["regenerate"]:
            raise TaskFailed("vector_embedding_error", f"`{name}` is user-provided: it cannot regenerate `{doc_id}`")
        embeddings = value.get("embeddings")
    if embeddings is None:
        return []
    if not isinstance(embeddings, list):
        raise TaskFailed("invalid_vectors_type", f"`_vectors.{name}` of `{doc_id}` is not an array")
    rows = embeddings if embeddings and isinstance(embeddings[0], list) else [embeddings] if embeddings else []
    for row in rows:
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in row):
            raise TaskFailed("invalid_vectors_type", f"`_vectors.{name}` of `{doc_id}` holds a non-number")
        if len(row) != dimensions:
            raise TaskFailed(
                "invalid_vector_dimensions", f"`{name}` expects {dimensions} dimensions, `{doc_id}` gives {len(row)}"
            )
    return [list(map(float, row)) for row in rows]


_CONDITION = re.compile(r"^(\w+) (?:(=|>=|<=|>|<) (.+)|(IS NULL)|(NOT IN|IN) \[(.*)\])$")


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return float(text)


def passes(doc: dict[str, Any], flt: Any) -> bool:
    """Whether `doc` passes a filter in the forms the adapter writes."""
    if not flt:
        return True
    if isinstance(flt, list):
        return all(any(passes(doc, c) for c in item) if isinstance(item, list) else passes(doc, item) for item in flt)
    m = _CONDITION.match(flt)
    assert m, f"the stub does not read the filter {flt!r}"
    attribute, op, operand, is_null, membership, items = m.groups()
    value = doc.get(attribute)
    if is_null:
        return value is None
    if membership:
        listed = {_literal(i) for i in re.findall(r'"(?:[^"\\]|\\.)*"', items)}
        return (value in listed) == (membership == "IN")
    wanted = _literal(operand)
    values = value if isinstance(value, list) else [value]
    if op == "=":
        return wanted in values
    compare = {">=": float.__ge__, "<=": float.__le__, ">": float.__gt__, "<": float.__lt__}[op]
    return any(isinstance(v, (int, float)) and compare(float(v), wanted) for v in values)


class StubMeili:
    def __init__(self, master_key: str | None = None) -> None:
        self.master_key = master_key
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.indexes: dict[str, Index] = {}
        self.keys: list[dict[str, Any]] = []
        self.tasks: dict[int, dict[str, Any]] = {}
        # Called with (recorded request, task) before a task is reported; may block, or
        # set the task's status.
        self.task_hook: Callable[[Recorded, dict[str, Any]], None] | None = None
        # Called with each recorded request before it is answered; may block.
        self.request_hook: Callable[[Recorded], None] | None = None
        self._lock = threading.Lock()
        self._validators = {name: validator(name) for name in {s for _, _, s in ROUTES if s and s != "documents"}}
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                stub._serve(self)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubMeili:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- recording and checking -----------------------------------------------------------

    def bodies(self, method: str, pattern: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        rec = Recorded(h.command, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in h.headers.items()}, body)
        with self._lock:
            self.requests.append(rec)
        if self.request_hook is not None:
            self.request_hook(rec)
        route = next(
            (
                (m, schema)
                for method, pattern, schema in ROUTES
                if method == h.command and (m := pattern.match(parts.path))
            ),
            None,
        )
        if route is None:
            return self._reply(h, 404, {"message": f"no route {h.command} {parts.path}", "code": "not_found"})
        m, schema = route
        if length > PAYLOAD_LIMIT:
            return self._reply(h, 413, {"message": "payload too large", "code": "payload_too_large"})
        if schema is not None:
            ctype = rec.headers.get("content-type", "")
            if not ctype.startswith("application/json"):
                self.violations.append(f"{h.command} {parts.path}: Content-Type {ctype!r}")
                return self._reply(h, 415, {"message": "missing content type", "code": "missing_content_type"})
            try:
                rec.json = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                self.violations.append(f"{h.command} {parts.path}: not UTF-8 JSON: {exc}")
                return self._reply(h, 400, {"message": str(exc), "code": "malformed_payload"})
            problem = self._check(schema, rec.json)
            if problem:
                self.violations.append(f"{h.command} {parts.path}: {problem}")
                return self._reply(h, 400, {"message": problem, "code": "bad_request", "type": "invalid_request"})
        status, answer = self._route(h.command, parts.path, m.groupdict(), rec)
        self._reply(h, status, answer)

    def _check(self, schema: str, value: Any) -> str | None:
        if schema == "documents":
            if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
                return "documents must be an array of objects"
            return None
        errors = sorted(self._validators[schema].iter_errors(value), key=lambda e: list(e.path))
        if errors:
            return "; ".join(f"{list(e.path)}: {e.message}" for e in errors)
        if schema == "FederatedSearch" and value.get("federation") is not None:
            # Meilisearch refuses these per query of a federated search (`has_pagination`,
            # `has_facets` in its search module): they belong to `federation`.
            for n, query in enumerate(value["queries"]):
                for key in ("offset", "limit", "page", "hitsPerPage", "facets"):
                    if query.get(key) is not None:
                        return f"queries[{n}].{key} is not allowed in a federated search"
        return None

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, answer: Any) -> None:
        data = b"" if status == 204 else json.dumps(answer, ensure_ascii=False).encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    # -- behaviour --------------------------------------------------------------------

    def _task(self, rec: Recorded, kind: str, uid: str | None, apply: Callable[[], object]) -> tuple[int, Any]:
        with self._lock:
            number = len(self.tasks)
            task: dict[str, Any] = {
                "uid": number,
                "indexUid": uid,
                "status": "succeeded",
                "type": kind,
                "enqueuedAt": NOW,
            }
            self.tasks[number] = task
        if self.task_hook is not None:
            self.task_hook(rec, task)
        if task["status"] == "succeeded":
            try:
                with self._lock:
                    apply()
            except LookupError:
                task["status"] = "failed"
                task["error"] = {"code": "index_not_found", "message": f"Index `{uid}` not found."}
            except TaskFailed as exc:
                task["status"] = "failed"
                task["error"] = {"code": exc.code, "message": exc.message}
        info = {"taskUid": number, "indexUid": uid, "status": "enqueued", "type": kind, "enqueuedAt": NOW}
        return 202, info

    def _route(self, method: str, path: str, args: dict[str, str], rec: Recorded) -> tuple[int, Any]:
        uid = args.get("uid")
        index = self.indexes.get(uid) if uid else None
        body = rec.json
        if path == "/health":
            return 200, {"status": "available"}
        if path == "/keys":
            if self.master_key is None or rec.headers.get("authorization") != f"Bearer {self.master_key}":
                return 403, {"message": "The provided API key is invalid.", "code": "invalid_api_key"}
            if method == "GET":
                return 200, {"results": self.keys, "offset": 0, "limit": 1000, "total": len(self.keys)}
            uid = body.get("uid") or str(uuid.uuid4())
            # As Meilisearch: the key is derived from its uid and the master key.
            secret = hashlib.sha256(f"{self.master_key}:{uid}".encode()).hexdigest()
            key = {**body, "uid": uid, "key": secret, "createdAt": NOW, "updatedAt": NOW}
            with self._lock:
                if any(k["uid"] == uid for k in self.keys):
                    return 409, {
                        "message": f"`uid` field value `{uid}` is already an existing API key.",
                        "code": "api_key_already_exists",
                        "type": "invalid_request",
                    }
                self.keys.append(key)
            return 201, key
        if path.startswith("/keys/"):
            if self.master_key is None or rec.headers.get("authorization") != f"Bearer {self.master_key}":
                return 403, {"message": "The provided API key is invalid.", "code": "invalid_api_key"}
            if method == "GET":
                found_key = next((k for k in self.keys if args["key"] in (k["key"], k["uid"])), None)
                if found_key is None:
                    return 404, {"message": "API key not found.", "code": "api_key_not_found"}
                return 200, found_key
            with self._lock:
                kept = [k for k in self.keys if args["key"] not in (k["key"], k["uid"])]
                found, self.keys[:] = len(kept) < len(self.keys), kept
            return (204, None) if found else (404, {"message": "API key not found.", "code": "api_key_not_found"})
        if path.startswith("/tasks/"):
            task = self.tasks.get(int(args["task"]))
            return (200, task) if task else (404, {"message": "task not found", "code": "task_not_found"})
        if path == "/indexes":

            def create() -> None:
                self.indexes.setdefault(body["uid"], Index(body["uid"], body.get("primaryKey")))

            return self._task(rec, "indexCreation", body["uid"], create)
        if path == "/swap-indexes":

            def swap() -> None:
                for pair in body:
                    a, b = pair["indexes"]
                    self.indexes[a], self.indexes[b] = self.indexes[b], self.indexes[a]
                    self.indexes[a].uid, self.indexes[b].uid = a, b

            return self._task(rec, "indexSwap", None, swap)
        if path == "/multi-search":
            refused = next(filter(None, (self._refuse(q) for q in body["queries"])), None)
            if refused is None and body.get("federation"):
                for name, attributes in (body["federation"].get("facetsByIndex") or {}).items():
                    refused = refused or self._refuse({"indexUid": name, "facets": attributes})
            return refused or (200, self._multi_search(body))
        if index is None and method == "POST" and uid and path == f"/indexes/{uid}/documents":
            # Meilisearch creates a missing index on the first documents (with no settings).
            primary_key = (rec.query.get("primaryKey") or [None])[0]

            def create_and_add() -> None:
                created = self.indexes.setdefault(str(uid), Index(str(uid), primary_key))
                created.write(body, merge=method == "PUT")

            return self._task(rec, "documentAdditionOrUpdate", uid, create_and_add)
        if index is None and not (method == "DELETE" and uid):
            return 404, {"message": f"Index `{uid}` not found.", "code": "index_not_found"}
        if method == "DELETE":
            return self._task(rec, "indexDeletion", uid, lambda: self.indexes.pop(str(uid)))
        assert index is not None
        tail = path.split(f"/indexes/{uid}", 1)[1]
        if tail == "":
            return 200, {"uid": uid, "primaryKey": index.primary_key, "createdAt": NOW, "updatedAt": NOW}
        if tail == "/settings" and method == "GET":
            return 200, dict(index.settings)
        if tail == "/settings":

            def update() -> None:
                embedders = body.get("embedders", {}) or {}
                index.settings.update({k: v for k, v in body.items() if k != "embedders"})
                if "embedders" in body:
                    # Per embedder: null removes it, an object sets it; null for all resets.
                    kept = dict(index.settings.get("embedders") or {}) if body["embedders"] is not None else {}
                    kept.update(embedders)
                    index.settings["embedders"] = {n: e for n, e in kept.items() if e is not None}

            return self._task(rec, "settingsUpdate", uid, update)
        if tail == "/documents":
            skip_creation = (rec.query.get("skipCreation") or ["false"])[0] == "true"

            def add() -> None:
                index.write(body, merge=method == "PUT", skip_creation=skip_creation)

            return self._task(rec, "documentAdditionOrUpdate", uid, add)
        if tail == "/documents/delete":
            ids = set(re.findall(r'"((?:[^"\\]|\\.)*)"', body["filter"]))

            def delete() -> None:
                for i in ids:
                    index.documents.pop(i, None)
                    index.vectors.pop(i, None)

            return self._task(rec, "documentDeletion", uid, delete)
        if tail == "/documents/fetch":
            with self._lock:
                docs = list(index.documents.values())
            if body.get("filter"):
                wanted = set(re.findall(r'"((?:[^"\\]|\\.)*)"', body["filter"]))
                docs = [d for d in docs if d["id"] in wanted]
            offset, limit = body.get("offset", 0), body.get("limit", 20)
            fields = body.get("fields")
            page = [{k: v for k, v in d.items() if not fields or k in fields} for d in docs[offset : offset + limit]]
            if body.get("retrieveVectors"):
                for item in page:
                    stored = index.vectors.get(item["id"], {})
                    item["_vectors"] = {
                        name: {"embeddings": stored.get(name, []), "regenerate": False}
                        for name in index.user_provided()
                    }
            return 200, {"results": page, "offset": offset, "limit": limit, "total": len(docs)}
        if tail == "/stats":
            with self._lock:
                counts: dict[str, int] = {}
                for doc in index.documents.values():
                    for name in doc:
                        counts[name] = counts.get(name, 0) + 1
            return 200, {"numberOfDocuments": len(index.documents), "isIndexing": False, "fieldDistribution": counts}
        if tail == "/search" and body.get("vector") is not None:
            return self._refuse({**body, "indexUid": uid}) or self._vector_search(index, body)
        if tail == "/search":
            return self._refuse({**body, "indexUid": uid}) or (200, self._search(index, body))
        return 404, {"message": "not handled", "code": "not_found"}

    def _refuse(self, query: dict[str, Any]) -> tuple[int, Any] | None:
        """Meilisearch's answer to a search naming an attribute its index settings do not
        allow there (each condition of the adapter's filters starts with its attribute)."""
        index = self.indexes.get(query["indexUid"])
        if index is None:
            return 404, {"message": f"Index `{query['indexUid']}` not found.", "code": "index_not_found"}
        filterable = set(index.settings.get("filterableAttributes") or [])
        sortable = set(index.settings.get("sortableAttributes") or [])
        flt = query.get("filter") or []
        conditions = (
            [flt] if isinstance(flt, str) else [c for item in flt for c in ([item] if isinstance(item, str) else item)]
        )
        checks = [
            ("invalid_search_filter", "filterable", [c.split()[0] for c in conditions], filterable),
            ("invalid_search_sort", "sortable", [s.split(":")[0] for s in query.get("sort") or []], sortable),
            ("invalid_search_facets", "filterable", list(query.get("facets") or []), filterable),
        ]
        for code, what, attributes, allowed in checks:
            for attribute in attributes:
                if attribute not in allowed:
                    message = f"Attribute `{attribute}` is not {what}."
                    return 400, {"message": message, "code": code, "type": "invalid_request"}
        return None

    def _matching(self, index: Index, query: dict[str, Any]) -> list[dict[str, Any]]:
        q = query.get("q") or ""
        words = [a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', q)]
        attributes = query.get("attributesToSearchOn") or index.settings.get("searchableAttributes") or []
        found = []
        with self._lock:  # writes run in other threads
            docs = list(index.documents.values())
        for doc in docs:
            tokens = {t for a in attributes for t in str(doc.get(a) or "").split()}
            if all(w in tokens for w in words) and passes(doc, query.get("filter")):
                found.append(doc)
        return found

    def _search(self, index: Index, query: dict[str, Any]) -> dict[str, Any]:
        found = self._matching(index, query)
        offset, limit = query.get("offset", 0), query.get("limit", 20)
        out: dict[str, Any] = {
            "hits": [{"id": d["id"], "doc": d["doc"], "_rankingScore": 0.5} for d in found[offset : offset + limit]],
            "estimatedTotalHits": len(found),
        }
        if query.get("facets"):
            out["facetDistribution"] = self._facets(found, query["facets"])
        return out

    def _vector_search(self, index: Index, query: dict[str, Any]) -> tuple[int, Any]:
        """A semantic search (`vector` with `hybrid.semanticRatio` 1.0) over the documents
        with a vector for the embedder, filtered (see the module docstring)."""
        hybrid = query.get("hybrid") or {}
        name = hybrid.get("embedder")
        dimensions = index.user_provided().get(name)
        if dimensions is None:
            return 400, {"message": f"Cannot find embedder with name `{name}`.", "code": "invalid_search_embedder"}
        vector = np.asarray(query["vector"], dtype=np.float64)
        if len(vector) != dimensions:
            message = f"Expected {dimensions} dimensions, got {len(vector)}."
            return 400, {"message": message, "code": "invalid_vector_dimensions"}
        assert hybrid.get("semanticRatio") == 1.0, "the stub only does semantic-only searches"
        scored = []
        with self._lock:
            for doc_id, doc in index.documents.items():
                stored = index.vectors.get(doc_id, {}).get(name) or []
                if not passes(doc, query.get("filter")):
                    continue
                score = 0.0  # no vector: after all those with one
                if stored:
                    row = np.asarray(stored[0])
                    cosine = float(row @ vector / (np.linalg.norm(row) * np.linalg.norm(vector) or 1.0))
                    score = (1.0 + cosine) / 2.0
                scored.append((score, doc, stored))
        scored.sort(key=lambda item: -item[0])
        offset, limit = query.get("offset", 0), query.get("limit", 20)
        hits = []
        for score, doc, stored in scored[offset : offset + limit]:
            hit = {"id": doc["id"], "doc": doc["doc"], "_rankingScore": score}
            if query.get("retrieveVectors"):
                hit["_vectors"] = {name: {"embeddings": stored, "regenerate": False}}
            hits.append(hit)
        return 200, {"hits": hits, "estimatedTotalHits": len(scored), "semanticHitCount": len(hits)}

    @staticmethod
    def _facets(docs: list[dict[str, Any]], attributes: list[str]) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for attr in attributes:
            counts: dict[str, int] = {}
            for d in docs:
                values = d.get(attr)
                for v in values if isinstance(values, list) else [values] if values is not None else []:
                    counts[v] = counts.get(v, 0) + 1
            out[attr] = counts
        return out

    def _multi_search(self, body: dict[str, Any]) -> dict[str, Any]:
        federation = body.get("federation")
        if federation is None:
            results = []
            for query in body["queries"]:
                index = self.indexes[query["indexUid"]]
                found = self._matching(index, query)
                results.append({"indexUid": query["indexUid"], "hits": [], "estimatedTotalHits": len(found)})
            return {"results": results}
        seen: dict[str, dict[str, Any]] = {}
        for position, query in enumerate(body["queries"]):
            index = self.indexes[query["indexUid"]]
            weight = (query.get("federationOptions") or {}).get("weight", 1.0)
            for doc in self._matching(index, query):
                hit = seen.setdefault(doc["id"], {"id": doc["id"], "doc": doc["doc"], "_docs": doc, "_w": 0.0})
                if weight > hit["_w"]:
                    hit["_w"] = weight
                    hit["_federation"] = {
                        "indexUid": query["indexUid"],
                        "queriesPosition": position,
                        "weightedRankingScore": weight,
                    }
        ranked = sorted(seen.values(), key=lambda h: -h["_w"])
        offset, limit = federation.get("offset", 0), federation.get("limit", 20)
        out: dict[str, Any] = {
            "hits": [{k: v for k, v in h.items() if not k.startswith("_") or k == "_federation"} for h in ranked][
                offset : offset + limit
            ],
            "estimatedTotalHits": len(ranked),
        }
        by_index = federation.get("facetsByIndex")
        if by_index:
            out["facetsByIndex"] = {
                uid: {"distribution": self._facets([h["_docs"] for h in ranked], attrs), "stats": {}}
                for uid, attrs in by_index.items()
            }
        return out
