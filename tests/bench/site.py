"""A generated site of realistic small-business pages, for the benchmark.

Each page has what the auditor meets on real sites: a header with a menu and dropdowns, a hero with a
call to action, product cards with images, a form on some pages, a footer full of links, a stylesheet and
a small script. Pages link to their neighbours so a crawl from `/` reaches all of them within a few levels.
"""

from __future__ import annotations

from pathlib import Path

CSS = """
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#222}
header{display:flex;justify-content:space-between;align-items:center;padding:12px 32px;background:#fff;border-bottom:1px solid #ddd}
nav ul{list-style:none;display:flex;gap:18px;margin:0;padding:0}nav li{position:relative}nav li ul{display:none;position:absolute}
nav li:hover ul{display:block}.hero{padding:64px 32px;background:#eef6ee}.hero h1{font-size:40px;margin:0 0 16px}
.btn{display:inline-block;background:#1b7f3b;color:#fff;padding:14px 28px;border-radius:6px;text-decoration:none}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:20px;padding:32px}
.card{border:1px solid #ddd;border-radius:8px;padding:16px}.card img{width:100%;height:140px;object-fit:cover}
form{display:grid;gap:10px;max-width:480px;padding:32px}input,select,textarea{padding:10px;font:inherit}
footer{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;padding:32px;background:#222;color:#ccc}footer a{color:#ccc}
@media (max-width:600px){nav ul{display:none}.hero h1{font-size:28px}footer{grid-template-columns:1fr 1fr}}
@keyframes rise{from{opacity:0;transform:translateY(20px)}to{opacity:1;transform:none}}.hero{animation:rise .4s ease-out}
"""

JS = "document.addEventListener('DOMContentLoaded',()=>{document.querySelectorAll('.card').forEach((c,i)=>c.dataset.i=i)});"

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="440" height="280" viewBox="0 0 440 280">'
    '<rect width="440" height="280" fill="#cfe8d4"/><circle cx="220" cy="140" r="{r}" fill="#2f8f4e"/></svg>'
)


def page(i: int, total: int) -> str:
    links = [(i * 7 + k) % total for k in range(1, 9)]
    menu = "".join(
        f'<li><a href="/p{(i + k) % total}.html">Section {k}</a><ul><li><a href="/p{(i + k + 1) % total}.html">More</a></li></ul></li>'
        for k in range(6)
    )
    cards = "".join(
        f'<div class="card"><img src="/img/{n % 10}.svg" alt="Item {n}"><h3>Item {n}</h3>'
        f'<p>A short description of item {n}.</p><a href="/p{n}.html">Details</a></div>'
        for n in links
    )
    form = ""
    if i % 4 == 0:
        form = (
            '<form action="/thanks"><input name="name" placeholder="Name" required>'
            '<input type="email" name="email" placeholder="Email" required><input name="phone" placeholder="Phone">'
            '<select name="topic"><option>Sales</option><option>Support</option></select>'
            '<textarea name="msg"></textarea><input type="hidden" name="src" value="bench"><button>Send</button></form>'
        )
    footer = "".join(f'<a href="/p{(i + k * 3) % total}.html">Footer link {k}</a>' for k in range(24))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>Page {i} | Bench Co</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/site.css">'
        '<script src="/site.js" defer></script></head><body>'
        f'<header><a href="/">Bench Co</a><nav><ul>{menu}</ul></nav><a class="btn" href="/p0.html">Get a quote</a></header>'
        f'<section class="hero"><h1>Page {i}: everything you need</h1><p>Fast delivery, friendly people.</p>'
        f'<a class="btn" href="/p{(i + 1) % total}.html">Start now</a></section>'
        f'<section class="cards">{cards}</section>{form}<footer>{footer}</footer></body></html>'
    )


def generate(root: Path, total: int = 100) -> list[str]:
    """Write the site; return the page paths in the order a crawl from / should find them."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    (root / "site.css").write_text(CSS)
    (root / "site.js").write_text(JS)
    for n in range(10):
        (root / "img" / f"{n}.svg").write_text(SVG.format(r=40 + n * 8))
    for i in range(total):
        (root / f"p{i}.html").write_text(page(i, total))
    index = page(0, total).replace("<section class=\"cards\">", "<section class=\"cards\">" + "".join(
        f'<a href="/p{i}.html">Page {i}</a> ' for i in range(total)))
    (root / "index.html").write_text(index)
    return ["/"] + [f"/p{i}.html" for i in range(total)]
