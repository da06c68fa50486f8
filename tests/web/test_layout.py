"""The web layout's rules hold: no page area imports another, pages link by route name, every route has one."""

import ast
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
            for attribute in ('href="/', 'action="/', 'formaction="/', 'hx-get="/', 'hx-post="/'):
                # The API's export downloads are not page routes.
                if attribute in line and 'href="/api/' not in line:
                    literal.append(f"{path.relative_to(WEB)}:{number}")
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
