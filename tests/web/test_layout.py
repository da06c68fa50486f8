"""The web layout's rules hold: no page area imports another, pages link by route name, every route has one."""

import ast
import re
from pathlib import Path

from backend.app import create_app

WEB = Path(__file__).resolve().parents[2] / "web"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_page_area_imports_another_and_the_kit_imports_no_page():
    offenders = []
    for path in sorted((WEB / "pages").glob("*/*.py")):
        area = path.parent.name
        for module in _imports(path):
            parts = module.split(".")
            if parts[:2] == ["web", "pages"] and len(parts) > 2 and parts[2] != area:
                offenders.append(f"{path.relative_to(WEB)} imports {module}")
    for path in sorted((WEB / "kit").glob("*.py")):
        offenders += [f"{path.relative_to(WEB)} imports {m}" for m in _imports(path) if m.startswith("web.pages")]
    assert offenders == []


def test_templates_link_pages_by_route_name_not_by_literal_path():
    literal = []
    for path in sorted((WEB / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            # Any attribute holding a site path: links, form targets, a hidden "next", script sources.
            # The API's export downloads are not page routes.
            for found in re.finditer(r'[a-z-]+="(/[^"]*)"', line):
                if not found.group(1).startswith("/api/"):
                    literal.append(f"{path.relative_to(WEB)}:{number}: {found.group(0)}")
    assert literal == []


def _site_paths(path: Path) -> list[str]:
    """String literals in a module that spell a site path ("/workspace", f"/{slug}/{id}"), except route paths."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    exempt: set[int] = set()
    for node in ast.walk(tree):
        # Route paths and prefixes are where a path is written (once); docstrings describe them.
        if isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in {"get", "post", "api_route", "APIRouter", "mount"}:
                exempt.update(id(sub) for sub in ast.walk(node) if sub is not node)
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            exempt.add(id(body[0].value))
    found = []
    for node in ast.walk(tree):
        if id(node) in exempt:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.match(r"/[a-z]", node.value):
            found.append(f"{path.relative_to(WEB)}:{node.lineno}: {node.value!r}")
        elif isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            if isinstance(head, ast.Constant) and isinstance(head.value, str) and re.match(r"/([a-z]|$)", head.value):
                exempt.add(id(head))
                found.append(f"{path.relative_to(WEB)}:{node.lineno}: f-string {head.value!r}…")
    return found


def test_page_code_builds_paths_from_route_names():
    literal = [hit for path in sorted(WEB.rglob("*.py")) for hit in _site_paths(path)]
    assert literal == []


def test_every_page_route_is_named_after_its_area():
    app = create_app()
    pages = [
        route
        for included in app.router.routes
        for route in getattr(getattr(included, "original_router", None), "routes", [])
        if getattr(route, "endpoint", None) is not None and route.endpoint.__module__.startswith("web.pages.")
    ]
    assert len(pages) > 100
    unnamed = [route.path for route in pages if ":" not in route.name]
    assert unnamed == []
    names = [route.name for route in pages]
    assert len(names) == len(set(names)), "two page routes share a name"
    for route in pages:
        area = route.endpoint.__module__.split(".")[2]
        assert route.name.split(":")[0] == area, f"{route.path} is named {route.name} but lives in {area}"
