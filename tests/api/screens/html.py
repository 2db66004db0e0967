"""Pages read with a real HTML parser (html5lib, as browsers parse): elements, the labels of
form fields, table cells. Page tests assert on this structure, never on substrings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import html5lib

FIELDS = ("input", "select", "textarea")


@dataclass(frozen=True)
class Page:
    """A parsed page."""

    root: ET.Element

    def all(self, path: str) -> list[ET.Element]:
        """Elements matching an ElementTree path (`.//table[@class='queue']`)."""
        return self.root.findall(path)

    def one(self, path: str) -> ET.Element:
        found = self.all(path)
        assert len(found) == 1, f"{len(found)} elements match {path}"
        return found[0]

    def by_id(self, element_id: str) -> ET.Element:
        return self.one(f".//*[@id='{element_id}']")

    def unlabelled_fields(self) -> list[str]:
        """Form fields (not hidden) with no `<label for>`, no enclosing label, no aria-label."""
        labelled = {label.get("for") for label in self.all(".//label") if label.get("for")}
        missing = []
        for tag in FIELDS:
            for field in self.all(f".//{tag}"):
                if field.get("type") == "hidden" or field.get("aria-label"):
                    continue
                if field.get("id") not in labelled:
                    missing.append(field.get("name") or tag)
        return missing

    def field(self, name: str) -> ET.Element:
        """The form field named `name`."""
        found = [f for tag in FIELDS for f in self.all(f".//{tag}[@name='{name}']")]
        assert len(found) == 1, f"{len(found)} fields named {name}"
        return found[0]

    def label_of(self, name: str) -> str:
        """The text of the label bound to the field named `name`."""
        field_id = self.field(name).get("id")
        return text(self.one(f".//label[@for='{field_id}']"))

    def table(self, path: str) -> list[list[str]]:
        """The body rows of the table at `path`, each as its cells' texts."""
        return [
            [text(cell) for cell in row if cell.tag in ("td", "th")]
            for row in self.one(path).findall("./tbody/tr")
        ]

    def headers(self, path: str) -> list[str]:
        return [text(cell) for cell in self.one(path).findall("./thead/tr/th")]


def text(element: ET.Element) -> str:
    """The element's text content, whitespace collapsed."""
    return " ".join("".join(element.itertext()).split())


def parse(html: str) -> Page:
    """Parse a page as a browser does."""
    return Page(html5lib.parse(html, namespaceHTMLElements=False))
