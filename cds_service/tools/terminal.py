"""Cards as a clinician would see them, in a terminal: indicator, summary, detail, suggestions."""
from __future__ import annotations

from typing import Any, Iterable

from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

STYLE = {"critical": "bold red", "warning": "bold yellow", "info": "bold cyan"}


def _codes(resource: dict[str, Any]) -> str:
    codings = resource.get("code", {}).get("coding", [])
    return ", ".join(f"{c.get('code')} ({c.get('system', '').rsplit('/', 1)[-1]})" for c in codings)


def _suggestions(card: dict[str, Any]) -> Iterable[Text]:
    for suggestion in card.get("suggestions", []):
        mark = " (recommended)" if suggestion.get("isRecommended") else ""
        yield Text(f"▶ {suggestion['label']}{mark}", style="bold")
        for action in suggestion.get("actions", []):
            line = f"    {action['type']}: {action['description']}"
            resource = action.get("resource")
            if resource:
                priority = f", priority {resource['priority']}" if resource.get("priority") else ""
                line += f" [{_codes(resource)}{priority}]"
            elif action.get("resourceId"):
                line += f" [{action['resourceId']}]"
            yield Text(line)


def show_cards(console: Console, payload: dict[str, Any]) -> None:
    cards = payload.get("cards", [])
    if not cards:
        console.print("[green]No cards: no advice for this patient.[/green]")
    for card in cards:
        indicator = card["indicator"]
        parts: list[Any] = [Markdown(card.get("detail", ""))]
        parts += list(_suggestions(card))
        if card.get("overrideReasons"):
            parts.append(Text("Override reasons: " + "; ".join(r["display"] for r in card["overrideReasons"]), style="dim"))
        for link in card.get("links", []):
            parts.append(Text(f"↗ {link['label']}: {link['url']}", style="dim"))
        topic = card["source"].get("topic", {}).get("code", "")
        title = Text(f"{indicator.upper()}  {card['summary']}", style=STYLE.get(indicator, "bold"))
        console.print(Panel(Group(*parts), title=title, title_align="left", subtitle=f"{card['source']['label']} · {topic}",
                            border_style=STYLE.get(indicator, "white")))
    for action in payload.get("systemActions", []):
        console.print(f"[dim]system action: {action['type']}: {action['description']}[/dim]")
