#!/usr/bin/env python3
"""Renders xpusim reports in headless Chromium and checks them; checks trace files.

Each report is opened once (one browser launch): a harness page loads it in a frame, forces its
layout, times it, and copies the report's DOM out; the same launch dumps the DOM and takes a
screenshot. Checks: every chart (svg.chart) is present and has data marks (.mark), at least
--min-charts charts, the headings given with --expect-text are there as text, the DOM has no
<script> element and no on* attribute, the browser logged no console message (the report runs no
script, so any message is an error), the screenshot is not blank, and optional limits on the
render time and the file size. A trace (--trace) must be Chrome trace-event JSON whose spans have
non-negative begin times and durations and never partly overlap on one track.

Usage: check_report.py --chromium PATH --out DIR [--report FILE ...] [--trace FILE ...]
       [--min-charts N] [--expect-text TEXT ...] [--max-render-s S] [--max-bytes B]
Prints one line per report (charts, marks, render ms, size) and exits 1 on the first failure."""
import argparse, html.parser, json, os, pathlib, struct, subprocess, sys, tempfile, time, zlib

HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head>
<body style="margin:0"><iframe id="f" src="%s" style="border:0;width:1280px;height:900px"></iframe>
<script>
const t0 = performance.now();
const f = document.getElementById('f');
f.addEventListener('load', () => {
  const r = {};
  try {
    const d = f.contentDocument;
    d.body.getBoundingClientRect();  // style and layout of the whole report, now
    for (const s of d.querySelectorAll('svg')) s.getBBox && s.getBBox();
    r.ms = performance.now() - t0;
    r.dom = d.documentElement.outerHTML;
  } catch (e) { r.error = String(e); }
  const pre = document.createElement('pre');
  pre.id = 'xpusim-result';
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
});
</script></body></html>"""


class DomCheck(html.parser.HTMLParser):
    """Counts charts and their marks, scripts and event-handler attributes; collects text."""

    def __init__(self):
        super().__init__()
        self.charts, self.scripts, self.handlers, self.text = [], 0, [], []
        self.depth = 0  # inside an svg.chart: nesting depth of svg elements

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.handlers += [f"{tag} {k}" for k, _ in attrs if k.lower().startswith("on")]
        if tag == "script":
            self.scripts += 1
        if tag == "svg":
            if self.depth == 0 and "chart" in (a.get("class") or "").split():
                self.charts.append({"kind": a.get("data-chart", "?"), "marks": 0})
                self.depth = 1
            elif self.depth:
                self.depth += 1
        elif self.depth and "mark" in (a.get("class") or "").split():
            self.charts[-1]["marks"] += 1

    def handle_endtag(self, tag):
        if tag == "svg" and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        self.text.append(data)


def png_rows_with_content(path):
    """The fraction of rows of an 8-bit RGB(A) PNG that are not one uniform colour, and the number
    of distinct byte values. PNG filters turn a uniform row into constant bytes after its first
    pixel (0 for the sub, up and Paeth filters, the colour for none), whatever the colour, so a
    blank page gives 0 without unfiltering every pixel in Python."""
    data = pathlib.Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError("unsupported PNG layout")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride = zlib.decompress(idat), w * bpp
    rows = [raw[r * (stride + 1) + 1 + bpp:(r + 1) * (stride + 1)] for r in range(h)]
    content = sum(1 for row in rows if len(set(row)) > 1)
    return content / h, len(set(raw))


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check_report(args, report, k):
    report = pathlib.Path(report).resolve()
    size = report.stat().st_size
    out = pathlib.Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        harness = pathlib.Path(tmp) / "harness.html"
        harness.write_text(HARNESS % json.dumps(report.as_uri())[1:-1])
        shot = out / f"{report.stem}.png"
        cmd = [args.chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--allow-file-access-from-files", f"--user-data-dir={tmp}/profile",
               "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
               "--window-size=1280,900", f"--screenshot={shot}", "--dump-dom", harness.as_uri()]
        t = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        wall = time.time() - t
    if p.returncode != 0:
        fail(f"{report}: chromium exited {p.returncode}: {p.stderr[-2000:]}")
    console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    if console:
        fail(f"{report}: console messages: {console[:5]}")
    outer = DomCheck()
    outer.feed(p.stdout)
    marker = '<pre id="xpusim-result">'
    at = p.stdout.find(marker)
    if at < 0:
        fail(f"{report}: the harness produced no result (the frame never loaded)")
    result = json.loads(html.unescape(p.stdout[at + len(marker):p.stdout.find("</pre>", at)]))
    if "error" in result:
        fail(f"{report}: {result['error']}")
    (out / f"{report.stem}.dom.html").write_text(result["dom"])
    dom = DomCheck()
    dom.feed(result["dom"])
    text = " ".join(dom.text)
    if dom.scripts or dom.handlers:
        fail(f"{report}: {dom.scripts} script elements, handlers {dom.handlers[:5]}")
    if len(dom.charts) < args.min_charts:
        fail(f"{report}: {len(dom.charts)} charts, expected at least {args.min_charts}")
    empty = [c["kind"] for c in dom.charts if c["marks"] == 0]
    if empty:
        fail(f"{report}: empty charts: {empty}")
    for t_ in args.expect_text:
        if t_ not in text:
            fail(f"{report}: '{t_}' is not in the report's text")
    content, values = png_rows_with_content(shot)
    if content < 0.05 or values < 16:
        fail(f"{report}: the screenshot looks blank ({content:.1%} of its rows are not uniform)")
    if args.max_render_s and result["ms"] > args.max_render_s * 1e3:
        fail(f"{report}: rendered in {result['ms']:.0f} ms > {args.max_render_s} s")
    if args.max_bytes and size > args.max_bytes:
        fail(f"{report}: {size} bytes > {args.max_bytes}")
    marks = sum(c["marks"] for c in dom.charts)
    print(f"ok {report.name}: {len(dom.charts)} charts, {marks} marks, load+layout "
          f"{result['ms']:.0f} ms in the browser ({wall:.1f} s launch), {size / 1e6:.2f} MB, "
          f"screenshot rows with content {content:.0%}")


def check_trace(path):
    try:
        doc = json.loads(pathlib.Path(path).read_text())
    except json.JSONDecodeError as e:
        fail(f"{path}: not JSON: {e}")
    events = doc.get("traceEvents") if isinstance(doc, dict) else doc
    if not isinstance(events, list) or not events:
        fail(f"{path}: no traceEvents")
    tracks, counters, names = {}, 0, {}
    for e in events:
        ph = e.get("ph")
        if ph not in ("X", "M", "C", "B", "E"):
            fail(f"{path}: unknown phase {ph!r}")
        if not isinstance(e.get("pid"), int):
            fail(f"{path}: event without an integer pid: {e}")
        if ph == "M":
            if e.get("name") in ("process_name", "thread_name"):
                names[(e["pid"], e.get("tid"))] = e["args"]["name"]
            continue
        if not isinstance(e.get("ts"), (int, float)) or e["ts"] < 0:
            fail(f"{path}: bad ts in {e}")
        if ph == "C":
            counters += 1
            if not all(isinstance(v, (int, float)) and v >= 0 for v in e["args"].values()):
                fail(f"{path}: bad counter {e}")
            continue
        if not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0:
            fail(f"{path}: bad dur in {e}")
        tracks.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"], e["name"]))
    for key, spans in tracks.items():
        spans.sort()
        for (a0, a1, an), (b0, b1, bn) in zip(spans, spans[1:]):
            # Disjoint, or nested; a partial overlap is an inconsistent begin/end.
            if b0 < a1 - 1e-6 and b1 > a1 + 1e-6:
                fail(f"{path}: spans '{an}' [{a0}, {a1}] and '{bn}' [{b0}, {b1}] overlap on track {key}")
    processes = {n for (pid, tid), n in names.items() if tid is None and n}
    print(f"ok {pathlib.Path(path).name}: {sum(map(len, tracks.values()))} spans on "
          f"{len(tracks)} tracks in {len(processes)} processes, {counters} counter samples")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", default="chromium")
    ap.add_argument("--out", required=True)
    ap.add_argument("--report", nargs="*", default=[])
    ap.add_argument("--trace", nargs="*", default=[])
    ap.add_argument("--min-charts", type=int, default=1)
    ap.add_argument("--expect-text", nargs="*", default=[])
    ap.add_argument("--max-render-s", type=float, default=0)
    ap.add_argument("--max-bytes", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for k, r in enumerate(args.report):
        check_report(args, r, k)
    for t in args.trace:
        check_trace(t)


if __name__ == "__main__":
    main()
