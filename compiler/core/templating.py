"""The one Jinja environment every artifact family renders with."""

from __future__ import annotations

from functools import cache

import jinja2

from .escape import FILTERS
from .resources import TEMPLATES_DIR


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        auto_reload=False,  # the templates are the package's own: no stat per render (explain renders often)
    )
    env.filters.update(FILTERS)
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)
