"""Server-rendered pages (Jinja2) over the services of the other areas: no queries of their own."""
