"""Find text people read that is not marked for translation.

``python -m portal.i18n_check [path ...]`` prints one line per finding (``path:line: text``)
and exits 1 when there is any; with no paths it checks the whole project, as the test suite
does (``tests/portal/test_translations.py``). Paths are files or folders, relative to the
project root.

What counts as text people read, and so must be marked (``{% translate %}``,
``{% blocktranslate %}``, ``gettext``):

* Templates (``templates/``, ``*/templates/``; ``.html`` and ``.txt``): words in the text
  between tags and in the attributes people read or hear (``title``, ``alt``,
  ``placeholder``, ``aria-label``, ...); in tags, quoted words given to ``include ... with``
  or to the ``default``/``yesno`` filters. Text inside ``{% blocktranslate %}`` and
  ``{% comment %}``, and scripts and styles, are not text people read here.
* Python (the apps, not tests, migrations, benchmarks, settings or management commands, whose
  output is for operators): a literal that reads as a sentence (a capital letter, then more
  words), and any literal given as a ``label``, ``verbose_name``, ``help_text`` and similar or
  as the label of a ``TextChoices`` member; except docstrings, log lines, messages of
  exceptions meant for programmers (``ValueError``, ``ImproperlyConfigured``, ...), system
  checks, and a literal on a line that says ``# i18n: not shown`` with its reason (or below
  a comment line that says it).

A word of two letters or more counts; capitals-only words (``CSV``, ``JSON``, ``SCIM``) are
names, not text, and need no marking. This is a heuristic: it finds what is unmarked, it does
not prove every marked text is translated (``msgfmt --check`` and the page sweep do that).
"""

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parent.parent
APPS = ("portal", "customers", "consent", "incidents")
# Folders and files whose words are for operators and developers, not the people who use
# the portal (Django itself leaves such output in English).
SKIPPED_PARTS = {"migrations", "management", "tests", "benchmarks", "static", "formats"}
SKIPPED_FILES = {
    "portal/settings.py",
    "portal/i18n_check.py",
    "portal/checks.py",
    # What the backup and restore commands say (operators, like the commands themselves).
    "portal/operations/backup.py",
    # The demo's console text, printed by `make run` next to the accounts.
    "templates/portal/demo_what_to_try.txt",
}
EXEMPT_MARK = "# i18n: not shown"

_WORD = re.compile(r"[^\W\d_]{2,}")
_NAME = re.compile(r"^[A-Z0-9]+s?$")  # CSV, API, SCIM, IDs


def has_words(text: str) -> bool:
    """True when ``text`` holds a word a reader must understand: two letters or more,
    other than a capitals-only name (``CSV``, ``JSON``)."""
    return any(not _NAME.match(word) for word in _WORD.findall(text))


@dataclass(frozen=True)
class Finding:
    """One unmarked text: the file (relative to the project), its line (1-based) and the
    text as found (shortened)."""

    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text[:100]!r}"


# --- Templates -------------------------------------------------------------------------

_READ_ATTRIBUTES = {
    "title",
    "alt",
    "placeholder",
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "aria-valuetext",
    "data-confirm",
    "label",
}
_TRANSLATING_TAGS = {"translate", "trans"}
_BLOCK_OPEN = {"blocktranslate", "blocktrans"}
_BLOCK_CLOSE = {"endblocktranslate", "endblocktrans"}
# ``key="value"`` given to an include; keys that name a class, an id or a URL carry no text.
_GIVEN = re.compile(r"""(\w+)=["']([^"']*)["']""")
_NOT_TEXT_KEY = re.compile(r"class|id$|url|icon|name$")
_SHOWN_FILTER_ARGUMENT = re.compile(
    r"""\|\s*(?:default|default_if_none|yesno)\s*:\s*(["'])(.*?)\1"""
)
# A template tag whose quoted arguments are names, paths or formats, not text.
_TAGS_WITHOUT_TEXT = {
    "load",
    "extends",
    "block",
    "url",
    "static",
    "now",
    "if",
    "elif",
    "for",
    "cycle",
    "csrf_token",
    "get_current_language",
    "get_available_languages",
    "language",
    "widthratio",
    "regroup",
    "templatetag",
    "spaceless",
}
# Stands in for a template variable or a translated text in the HTML the checker parses.
_FILLED = "\x00"


class _TextCollector(HTMLParser):
    """Collects (line, text) of the data and read attributes of an HTML fragment, skipping
    scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skipping += 1
        shown = dict(attrs)
        for name, value in attrs:
            readable = name in _READ_ATTRIBUTES or (
                name == "value" and tag == "input" and shown.get("type") in {"submit", "button"}
            )
            if readable and value and has_words(value):
                self.found.append((self.getpos()[0], value))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping and has_words(data):
            self.found.append((self.getpos()[0], data.strip()))


def _tag_findings(token_text: str) -> Iterator[str]:
    """The quoted words a tag or variable token shows people unmarked."""
    for match in _SHOWN_FILTER_ARGUMENT.finditer(token_text):
        argument = match.group(2)
        # yesno's words are always shown; a default in lower case is a CSS class or a key
        # ("info", "d-flex gap-1"), one that starts with a capital is text.
        shown = "yesno" in match.group(0) or argument[:1].isupper()
        if shown and has_words(argument) and "_(" not in token_text:
            yield argument


def template_findings(path: Path, text: str) -> list[Finding]:
    """The unmarked texts of one template (``path`` relative to the project, ``text`` its
    source)."""
    findings: list[Finding] = []
    pieces: list[str] = []
    depth_block = 0
    in_comment = 0
    is_html = path.suffix == ".html"
    for token in Lexer(text).tokenize():
        line = token.lineno
        if token.token_type == TokenType.TEXT:
            if depth_block or in_comment:
                pieces.append("\n" * token.contents.count("\n"))
            elif is_html:
                pieces.append(token.contents)
            else:
                for offset, row in enumerate(token.contents.split("\n")):
                    if has_words(row):
                        findings.append(Finding(str(path), line + offset, row.strip()))
                pieces.append("\n" * token.contents.count("\n"))
            continue
        if token.token_type == TokenType.COMMENT:
            continue
        if token.token_type == TokenType.VAR:
            if not depth_block and not in_comment:
                findings += [
                    Finding(str(path), line, shown) for shown in _tag_findings(token.contents)
                ]
            pieces.append(_FILLED)
            continue
        name = token.contents.split(maxsplit=1)[0] if token.contents.strip() else ""
        if name == "comment":
            in_comment += 1
        elif name == "endcomment":
            in_comment = max(0, in_comment - 1)
        elif name in _BLOCK_OPEN:
            depth_block += 1
        elif name in _BLOCK_CLOSE:
            depth_block = max(0, depth_block - 1)
        elif name in _TRANSLATING_TAGS:
            pieces.append(_FILLED)
            continue
        elif not in_comment and name not in _TAGS_WITHOUT_TEXT:
            findings += [Finding(str(path), line, shown) for shown in _tag_findings(token.contents)]
            if name == "include" and " with " in token.contents:
                given = token.contents.split(" with ", 1)[1]
                findings += [
                    Finding(str(path), line, value)
                    for key, value in _GIVEN.findall(given)
                    if not _NOT_TEXT_KEY.search(key) and " " in value and has_words(value)
                ]
        pieces.append(_FILLED if name in {"blocktranslate", "blocktrans"} else "")
    if is_html:
        collector = _TextCollector()
        collector.feed("".join(pieces))
        collector.close()
        findings += [Finding(str(path), line, shown) for line, shown in collector.found]
    return sorted(findings, key=lambda finding: finding.line)


# --- Python ----------------------------------------------------------------------------

_GETTEXT = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
    "format_lazy",
}
_PROGRAMMERS_ERRORS = {
    "ValueError",
    "TypeError",
    "RuntimeError",
    "KeyError",
    "LookupError",
    "IndexError",
    "AttributeError",
    "AssertionError",
    "NotImplementedError",
    "ImproperlyConfigured",
    "CommandError",
    "OSError",
    "SystemExit",
    "ImportError",
    "TemplateSyntaxError",
    # portal/compiled_queries.py: a statement built wrong, met in tests and under DEBUG.
    "CompiledQueryError",
    # django.core.checks messages are for operators, in English as Django's own.
    "Error",
    "Warning",
    "Critical",
    "Info",
    "Debug",
}
_LABEL_KEYWORDS = {
    "label",
    "verbose_name",
    "verbose_name_plural",
    "help_text",
    "empty_label",
    "description",
    "short_description",
}
_CHOICES_BASES = {"TextChoices", "IntegerChoices", "Choices"}
_SENTENCE = re.compile(r"^\W*[A-Z][a-z'’]*[,:;]?\s+\S")


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_log_call(call: ast.Call) -> bool:
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False
    receiver = func.value
    receiver_name = ""
    if isinstance(receiver, ast.Name):
        receiver_name = receiver.id
    elif isinstance(receiver, ast.Attribute):
        receiver_name = receiver.attr
    return "log" in receiver_name.lower()


def _literal_text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}"
            for part in node.values
            if isinstance(part, ast.Constant | ast.FormattedValue)
        )
    return ""


class _PythonChecker(ast.NodeVisitor):
    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.findings: list[Finding] = []
        self._exempt_depth = 0
        self._docstrings: set[int] = set()

    def _exempt_line(self, node: ast.AST) -> bool:
        # The mark on the literal's lines, or on a comment line of its own just above.
        first = getattr(node, "lineno", 1)
        last = getattr(node, "end_lineno", first) or first
        above = self.lines[first - 2].strip() if first >= 2 else ""
        return (above.startswith("#") and EXEMPT_MARK in above) or any(
            EXEMPT_MARK in self.lines[number - 1] for number in range(first, last + 1)
        )

    def _report(self, node: ast.AST, text: str) -> None:
        if not self._exempt_line(node):
            self.findings.append(Finding(str(self.path), getattr(node, "lineno", 0), text))

    def _exempt(self, nodes: Iterable[ast.AST]) -> None:
        self._exempt_depth += 1
        for node in nodes:
            self.visit(node)
        self._exempt_depth -= 1

    def visit_Module(self, node: ast.Module) -> None:
        self._note_docstring(node)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._note_docstring(node)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._note_docstring(node)
        bases = {getattr(base, "attr", getattr(base, "id", "")) for base in node.bases}
        if bases & _CHOICES_BASES:
            for statement in node.body:
                if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Tuple):
                    for element in statement.value.elts[1:]:
                        text = _literal_text(element)
                        if text and has_words(text):
                            self._report(element, text)
        self.generic_visit(node)

    def _note_docstring(self, node: ast.AST) -> None:
        body = getattr(node, "body", [])
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            self._docstrings.add(id(body[0].value))

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        if name in _GETTEXT or name in _PROGRAMMERS_ERRORS or _is_log_call(node):
            self._exempt([*node.args, *node.keywords])
            self.visit(node.func)
            return
        for keyword in node.keywords:
            if keyword.arg in _LABEL_KEYWORDS:
                text = _literal_text(keyword.value)
                if text and has_words(text) and not self._exempt_depth:
                    self._report(keyword.value, text)
                    continue
            self.visit(keyword.value)
        for argument in node.args:
            self.visit(argument)
        self.visit(node.func)

    def visit_Assign(self, node: ast.Assign) -> None:
        # ``short_description = "..."`` and the like on admin actions and columns.
        for target in node.targets:
            if isinstance(target, ast.Attribute | ast.Name):
                attribute = target.attr if isinstance(target, ast.Attribute) else target.id
                if attribute in _LABEL_KEYWORDS:
                    text = _literal_text(node.value)
                    if text and has_words(text) and not self._exempt_depth:
                        self._report(node.value, text)
                        return
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        # An f-string that reads as a sentence once its values are filled in: words, and a
        # capital at the start or a full stop at the end ("{kind} is not a kind.").
        text = _literal_text(node)
        if not self._exempt_depth and has_words(text.replace("{}", " ")):
            bare = text.replace("{}", "").strip()
            if " " in bare and (_SENTENCE.match(bare) or bare.endswith((".", "!", "?"))):
                self._report(node, text)
        # The values inside an f-string are expressions, not text.
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                self.visit(part.value)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and id(node) not in self._docstrings:
            self._check_text(node, node.value)

    def _check_text(self, node: ast.AST, text: str) -> None:
        if self._exempt_depth or not text:
            return
        if _SENTENCE.match(text) and has_words(text):
            self._report(node, text)


def python_findings(path: Path, source: str) -> list[Finding]:
    """The unmarked sentences of one Python module (``path`` relative to the project)."""
    checker = _PythonChecker(path, source.splitlines())
    checker.visit(ast.parse(source, filename=str(path)))
    return checker.findings


# --- The project -----------------------------------------------------------------------


def _skipped(relative: Path) -> bool:
    return bool(SKIPPED_PARTS & set(relative.parts[:-1])) or str(relative) in SKIPPED_FILES


def project_files(paths: Iterable[str] = ()) -> list[Path]:
    """The templates and Python modules to check, relative to the project root: those under
    ``paths`` (files or folders), else every app's and ``templates/``."""
    roots = [ROOT / path for path in paths] or [ROOT / "templates", *(ROOT / app for app in APPS)]
    found: set[Path] = set()
    for root in roots:
        candidates = [root] if root.is_file() else root.rglob("*")
        for candidate in candidates:
            relative = candidate.resolve().relative_to(ROOT)
            is_template = "templates" in relative.parts and candidate.suffix in {".html", ".txt"}
            if (is_template or candidate.suffix == ".py") and not _skipped(relative):
                found.add(relative)
    return sorted(found)


def findings(paths: Iterable[str] = ()) -> list[Finding]:
    """Every unmarked text of ``project_files(paths)``."""
    result: list[Finding] = []
    for relative in project_files(paths):
        source = (ROOT / relative).read_text(encoding="utf-8")
        if relative.suffix == ".py":
            result += python_findings(relative, source)
        else:
            result += template_findings(relative, source)
    return result


def main(argv: list[str]) -> int:
    """The command: print the findings under ``argv`` (paths); 1 when there are any."""
    found = findings(argv)
    for finding in found:
        print(finding)
    print(f"{len(found)} unmarked text(s)", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
