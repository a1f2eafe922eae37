"""Rendering of email blocks: HTML with CSS inlined by css_inline, and a plain-text twin.

The block is an HTML *fragment* (a table) that an email platform pastes into its own
template, so the CSS lives in templates/email/block.css and is written onto each element by
css_inline (mail clients such as Gmail drop or ignore <style> in many cases). The Jinja
Environment is built here, not shared with Flask: autoescape on, StrictUndefined so a missing
variable fails the render instead of sending a blank email.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import css_inline
import jinja2
from markupsafe import Markup

from email_blocks.blocks import EmailBlock, block_kind
from email_blocks.errors import BlockRenderError

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates" / "email"
STYLESHEET = "block.css"


def build_environment(templates_dir: Path = TEMPLATES_DIR) -> jinja2.Environment:
    """A Jinja Environment over templates/email: autoescape on, StrictUndefined."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html",), default_for_string=True, default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _context(block: EmailBlock) -> dict[str, object]:
    # Shallow copies: the fields are strings, and asdict's deep copy showed in bench/email.py.
    items = [vars(item).copy() for item in block.items]
    return {"block": {**vars(block), "items": items}, "items": items}


def render_block_html(block: EmailBlock, env: jinja2.Environment, *, document: bool = False) -> str:
    """The block's HTML with every style inlined (no <style> left).

    Args:
        block: the data to show.
        env: the Environment from `build_environment`.
        document: a whole HTML document (base.html, for previews and direct sends) instead of
            the fragment platforms paste into their own template.

    Raises:
        BlockRenderError: a template variable is missing or the CSS cannot be inlined.
    """
    kind = block_kind(block.kind)
    try:
        css = env.loader.get_source(env, STYLESHEET)[0] if env.loader else ""
        fragment = env.get_template(f"{kind.template}.html").render(_context(block))
        html = css_inline.inline_fragment(fragment, css)
        if document:
            html = env.get_template("base.html").render(block=asdict(block), content=Markup(html))
    except (jinja2.TemplateError, css_inline.InlineError) as exc:
        raise BlockRenderError(f"cannot render email block {block.kind!r}: {exc}") from exc
    return html


def render_block_text(block: EmailBlock, env: jinja2.Environment) -> str:
    """The plain-text alternative (multipart/alternative text part) of the block."""
    kind = block_kind(block.kind)
    try:
        return env.get_template(f"{kind.template}.txt").render(_context(block))
    except jinja2.TemplateError as exc:
        raise BlockRenderError(f"cannot render email block {block.kind!r}: {exc}") from exc
