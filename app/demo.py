"""`make demo`: the demo from nothing.

For now (issue 2) it writes the demo ground truth from package-shipped photos and renders a preview
gallery of the 50 representative tasks on each, with an index page; later issues turn this into
the running service on SQLite with a local worker.
"""

from __future__ import annotations

import html
import os
import sys
import time
from pathlib import Path

from gir_core.demo import write_demo_images
from gir_core.images import load_image
from gir_core.preview import contact_sheet, save_sheet
from gir_core.tasks import representative_tasks

DEMO_DIR = Path(os.environ.get("GIR_DEMO_DIR", "var/demo"))
GALLERY_DIR = Path(os.environ.get("GIR_GALLERY_DIR", "out/preview"))


def render_gallery(gt_dir: Path, out_dir: Path, *, seed: int = 0) -> list[Path]:
    """Write the demo images to ``gt_dir`` and one contact sheet per image to ``out_dir``."""
    tasks = representative_tasks()
    titles = [f"#{number}" for number in range(1, len(tasks) + 1)]
    sheets = []
    for path in write_demo_images(gt_dir):
        sheet = contact_sheet(load_image(path), tasks, seed=seed, titles=titles)
        sheets.append(save_sheet(sheet, out_dir, path.stem))
        print(f"  {sheets[-1]}", flush=True)
    _write_index(out_dir, sheets)
    return sheets


def _write_index(out_dir: Path, sheets: list[Path]) -> Path:
    items = "\n".join(
        f'<figure><img src="{html.escape(p.name)}" alt="{html.escape(p.stem)} contact sheet">'
        f"<figcaption>{html.escape(p.stem)}</figcaption></figure>"
        for p in sheets
    )
    page = (
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>GIR Bench preview</title>"
        "<style>img{max-width:100%}figure{margin:1em 0}</style>"
        "<h1>GIR Bench: the 50 representative tasks on the demo images</h1>"
        "<p>Clean image first, then Table C.1 tasks #1-#50 (benchmark seed 0).</p>"
        f"{items}</html>\n"
    )
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def main() -> int:
    """Render the gallery and say where it is."""
    started = time.perf_counter()
    print(f"GIR Bench demo: preview gallery of the representative tasks → {GALLERY_DIR}/")
    sheets = render_gallery(DEMO_DIR / "gt", GALLERY_DIR)
    elapsed = time.perf_counter() - started
    print(f"{len(sheets)} contact sheets in {elapsed:.1f} s; open {GALLERY_DIR / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
