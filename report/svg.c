/* report/svg.c — a flame graph as one standalone, interactive SVG file.
 *
 * The layout is computed here, from the call tree by function (report/calltree.h): the root at
 * the bottom, callees above their callers, siblings in label order (as flamegraph.pl does),
 * widths proportional to samples; frames narrower than 0.1 pixel are left out, as
 * flamegraph.pl does.  A small script in the file (no network, no library) makes it
 * interactive: click a frame to zoom into it, "Reset Zoom", "Search" (a regular expression,
 * JavaScript syntax; also Ctrl-F) highlights matching frames and prints the share of samples
 * they cover, hovering shows a frame's details.  Colors say the frame's kind (Python, native,
 * interpreter eval loop, kernel, marker, async task), or in a diff how a frame's share of its
 * profile changed (red: grew, blue: shrank).  The text drawn in each frame is truncated here
 * for viewers without scripts and again by the script after each zoom.
 *
 * Written for hotloop; the interaction follows flamegraph.pl's (click to zoom, search, reset)
 * but none of its code is used.
 */
#define _GNU_SOURCE
#include "report/report.h"
#include "report/calltree.h"
#include "report/escape.h"
#include "report/label.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE_WIDTH 1200
#define PAD 10
#define FRAME_HEIGHT 16
#define FONT_SIZE 12
#define FONT_WIDTH 0.59 /* of FONT_SIZE, for Verdana: how many characters fit */
#define MIN_WIDTH 0.1   /* pixels */
#define HEADER 48
#define FOOTER 24

static uint32_t hash_label(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The palette of frame kinds; the HTML page (report/html/profile.js) uses the same one. */
static void kind_color(const char *kind, const char *label, char *out, size_t len)
{
	double v = (double)(hash_label(label) % 1000) / 1000.0;
	int r, g, b;

	if (!strcmp(kind, "py"))
		r = 230 + (int)(25 * v), g = 150 + (int)(80 * v), b = 40 + (int)(30 * v);
	else if (!strcmp(kind, "native"))
		r = 210 + (int)(45 * v), g = 70 + (int)(60 * v), b = 60 + (int)(40 * v);
	else if (!strcmp(kind, "eval"))
		r = 175 + (int)(30 * v), g = 115 + (int)(30 * v), b = 75 + (int)(20 * v);
	else if (!strcmp(kind, "kernel"))
		r = 80 + (int)(50 * v), g = 160 + (int)(40 * v), b = 210 + (int)(30 * v);
	else if (!strcmp(kind, "task"))
		r = 170 + (int)(40 * v), g = 120 + (int)(30 * v), b = 220 + (int)(30 * v);
	else
		r = g = b = 170 + (int)(40 * v);
	snprintf(out, len, "rgb(%d,%d,%d)", r, g, b);
}

/* Red for growth, blue for shrinkage, white for none; @intensity in [0, 1]. */
static void diff_color(double delta, double intensity, char *out, size_t len)
{
	int c = 235 - (int)(200 * intensity);

	if (delta > 0)
		snprintf(out, len, "rgb(255,%d,%d)", c, c);
	else if (delta < 0)
		snprintf(out, len, "rgb(%d,%d,255)", c, c);
	else
		snprintf(out, len, "rgb(235,235,235)");
}

static int by_label(const struct hl_ctnode *a, const struct hl_ctnode *b, void *arg)
{
	const struct hl_flame *f = arg;

	return strcmp(f->label(f->arg, a->key), f->label(f->arg, b->key));
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0.0;
}

static void put_xml(FILE *out, struct hl_buf *scratch, const char *s)
{
	scratch->len = 0;
	if (!hl_xml_text(scratch, s))
		fwrite(scratch->data, 1, scratch->len, out);
}

/* The text shown in a frame of @width pixels: the label, cut with ".." to fit. */
static void fit_text(struct hl_buf *b, const char *label, double width)
{
	size_t fits = (size_t)((width - 6) / (FONT_SIZE * FONT_WIDTH)), len = strlen(label);

	b->len = 0;
	if (width < 3 * FONT_SIZE * FONT_WIDTH)
		return;
	if (len <= fits) {
		hl_buf__add(b, label, len);
	} else if (fits > 2) {
		/* Cut on a UTF-8 character boundary. */
		size_t cut = fits - 2;

		while (cut && ((unsigned char)label[cut] & 0xc0) == 0x80)
			cut--;
		hl_buf__add(b, label, cut);
		hl_buf__add(b, "..", 2);
	}
	hl_buf__addc(b, '\0');
}

static const char script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"'use strict';\n"
	"var W = IMAGE_W - 2 * PAD, frames = [], zoomed = null, details, matched, unzoom;\n"
	"function $(id) { return document.getElementById(id); }\n"
	"function fit(name, w) {\n"
	"  var n = Math.floor((w - 6) / (FONT * 0.59));\n"
	"  if (w < 3 * FONT * 0.59) return '';\n"
	"  return name.length <= n ? name : (n > 2 ? name.substring(0, n - 2) + '..' : '');\n"
	"}\n"
	"function place(f, x, w) {\n"
	"  f.r.setAttribute('x', x); f.r.setAttribute('width', w);\n"
	"  f.t.setAttribute('x', x + 3); f.t.textContent = fit(f.name, w);\n"
	"}\n"
	"function zoom(z) {\n"
	"  var s = W / z.w;\n"
	"  zoomed = z; unzoom.style.opacity = 1;\n"
	"  frames.forEach(function (f) {\n"
	"    var inside = f.x >= z.x - 1e-6 && f.x + f.w <= z.x + z.w + 1e-6;\n"
	"    var around = f.x <= z.x + 1e-6 && f.x + f.w >= z.x + z.w - 1e-6;\n"
	"    f.g.style.display = '';\n"
	"    f.g.classList.remove('fade');\n"
	"    if (f.y > z.y && around) { place(f, PAD, W); f.g.classList.add('fade'); }\n"
	"    else if (f.y <= z.y && inside) place(f, PAD + (f.x - z.x) * s, f.w * s);\n"
	"    else f.g.style.display = 'none';\n"
	"  });\n"
	"}\n"
	"function reset() {\n"
	"  zoomed = null; unzoom.style.opacity = 0;\n"
	"  frames.forEach(function (f) {\n"
	"    f.g.style.display = ''; f.g.classList.remove('fade'); place(f, PAD + f.x, f.w);\n"
	"  });\n"
	"}\n"
	"function search(term) {\n"
	"  var re, spans = [], total = 0, end = -1;\n"
	"  if (term === null || term === undefined) return;\n"
	"  try { re = new RegExp(term); } catch (e) {\n"
	"    re = new RegExp(term.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&'));\n"
	"  }\n"
	"  frames.forEach(function (f) {\n"
	"    var hit = term !== '' && re.test(f.name);\n"
	"    f.r.setAttribute('fill', hit ? 'rgb(230,0,230)' : f.fill);\n"
	"    f.g.classList.toggle('match', hit);\n"
	"    if (hit) spans.push([f.x, f.x + f.w]);\n"
	"  });\n"
	"  spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });\n"
	"  spans.forEach(function (s) {\n"
	"    if (s[0] >= end) { total += s[1] - s[0]; end = s[1]; }\n"
	"    else if (s[1] > end) { total += s[1] - end; end = s[1]; }\n"
	"  });\n"
	"  matched.textContent = term ? 'Matched: ' + (100 * total / W).toFixed(2) + '%' : '';\n"
	"}\n"
	"function init() {\n"
	"  details = $('details'); matched = $('matched'); unzoom = $('unzoom');\n"
	"  var gs = document.querySelectorAll('g.f');\n"
	"  for (var i = 0; i < gs.length; i++) {\n"
	"    var g = gs[i], r = g.querySelector('rect'), title = g.querySelector('title');\n"
	"    var f = { g: g, r: r, t: g.querySelector('text'),\n"
	"      x: +r.getAttribute('x') - PAD, w: +r.getAttribute('width'),\n"
	"      y: +r.getAttribute('y'), fill: r.getAttribute('fill'),\n"
	"      name: title.textContent.split('\\n')[0], info: title.textContent };\n"
	"    frames.push(f);\n"
	"    g.addEventListener('click', zoom.bind(null, f));\n"
	"    g.addEventListener('mouseover', function (f) { details.textContent = "
	"f.info.replace(/\\n/g, '  '); }.bind(null, f));\n"
	"    g.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
	"  }\n"
	"  unzoom.addEventListener('click', reset);\n"
	"  $('search').addEventListener('click', function () {\n"
	"    search(prompt('Search frames (regular expression):', ''));\n"
	"  });\n"
	"  window.addEventListener('keydown', function (e) {\n"
	"    if ((e.ctrlKey || e.metaKey) && e.key === 'f') { e.preventDefault();\n"
	"      search(prompt('Search frames (regular expression):', '')); }\n"
	"    if (e.key === 'Escape') { search(''); reset(); }\n"
	"  });\n"
	"  window.hotloop = { zoom: function (i) { zoom(frames[i]); }, reset: reset,\n"
	"    search: search, frames: frames };\n"
	"}\n"
	"init();\n"
	"]]></script>\n";

int hl_flame_svg_write(const struct hl_flame *fl, FILE *out)
{
	struct hl_calltree *t = fl->tree;
	const int in = fl->diff ? 1 : 0;
	double *x = NULL, scale, max_delta = 0;
	uint64_t root_total;
	uint32_t max_depth = 0, n;
	struct hl_buf scratch = {0}, text = {0};
	size_t i;
	int height;

	hl_calltree__sort(t, by_label, (void *)fl);
	x = calloc(t->nr, sizeof(*x));
	if (!x)
		return -ENOMEM;
	root_total = t->nodes[0].total[in];
	scale = root_total ? (double)(IMAGE_WIDTH - 2 * PAD) / (double)root_total : 0;
	/* Parents come before children: each node places its children left to right. */
	for (i = 0; i < t->nr; i++) {
		double at = x[i];

		for (n = t->nodes[i].first_child; n != HL_NONE; n = t->nodes[n].next_sibling) {
			x[n] = at;
			at += (double)t->nodes[n].total[in] * scale;
		}
	}
	for (i = 1; i < t->nr; i++) {
		const struct hl_ctnode *nd = &t->nodes[i];

		if ((double)nd->total[in] * scale < MIN_WIDTH)
			continue;
		max_depth = HL_MAX(max_depth, nd->depth);
		if (fl->diff) {
			double d = share(nd->total[1], fl->samples[1]) -
				   share(nd->total[0], fl->samples[0]);

			max_delta = fmax(max_delta, fabs(d));
		}
	}
	height = HEADER + (int)max_depth * FRAME_HEIGHT + FOOTER;

	fprintf(out,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<style type=\"text/css\">\n"
		"text { font-family: Verdana, sans-serif; font-size: %dpx; fill: rgb(0,0,0); }\n"
		"g.f { cursor: pointer; }\n"
		"g.f:hover rect { stroke: black; stroke-width: 0.5; }\n"
		"g.fade { opacity: 0.5; }\n"
		"text.button { cursor: pointer; fill: rgb(0,0,160); }\n"
		"text.title { font-size: 17px; }\n"
		"</style>\n"
		"<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" "
		"fill=\"rgb(248,248,248)\"/>\n",
		IMAGE_WIDTH, height, IMAGE_WIDTH, height, FONT_SIZE);
	fprintf(out, "<text class=\"title\" x=\"%d\" y=\"22\" text-anchor=\"middle\">",
		IMAGE_WIDTH / 2);
	put_xml(out, &scratch, fl->title ? fl->title : "Flame graph");
	fputs("</text>\n", out);
	fprintf(out, "<text x=\"%d\" y=\"40\">", PAD);
	put_xml(out, &scratch, fl->subtitle ? fl->subtitle : "");
	fputs("</text>\n", out);
	fprintf(out,
		"<text id=\"unzoom\" class=\"button\" x=\"%d\" y=\"22\" style=\"opacity:0\">Reset "
		"Zoom</text>\n"
		"<text id=\"search\" class=\"button\" x=\"%d\" y=\"22\" text-anchor=\"end\">Search"
		"</text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"> </text>\n"
		"<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n",
		PAD, IMAGE_WIDTH - PAD, IMAGE_WIDTH - PAD, height - 8, PAD, height - 8);

	for (i = 1; i < t->nr; i++) {
		const struct hl_ctnode *nd = &t->nodes[i];
		double w = (double)nd->total[in] * scale;
		const char *label = fl->label(fl->arg, nd->key);
		const char *kind = fl->kind(fl->arg, nd->key);
		double y = HEADER + (double)(max_depth - nd->depth) * FRAME_HEIGHT;
		char fill[32], info[256];

		if (w < MIN_WIDTH)
			continue;
		if (fl->diff) {
			double base = share(nd->total[0], fl->samples[0]);
			double head = share(nd->total[1], fl->samples[1]);

			diff_color(head - base, max_delta > 0 ? fabs(head - base) / max_delta : 0,
				   fill, sizeof(fill));
			snprintf(
			    info, sizeof(info),
			    "\n%s, total: base %.2f%% -> head %.2f%% (%+.2f pp), self: base %.2f%% "
			    "-> head %.2f%%, head samples %" PRIu64,
			    kind, 100 * base, 100 * head, 100 * (head - base),
			    100 * share(nd->self[0], fl->samples[0]),
			    100 * share(nd->self[1], fl->samples[1]), nd->total[1]);
		} else {
			kind_color(kind, label, fill, sizeof(fill));
			snprintf(info, sizeof(info),
				 "\n%s, %" PRIu64 " samples (%.2f%%), self %" PRIu64 " (%.2f%%)",
				 kind, nd->total[0], 100 * share(nd->total[0], root_total),
				 nd->self[0], 100 * share(nd->self[0], root_total));
		}
		fprintf(out, "<g class=\"f\" data-kind=\"%s\"><title>", kind);
		put_xml(out, &scratch, label);
		put_xml(out, &scratch, info);
		fprintf(out,
			"</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" "
			"fill=\"%s\" rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%.1f\">",
			PAD + x[i], y, w, FRAME_HEIGHT - 1, fill, PAD + x[i] + 3,
			y + FONT_SIZE - 1);
		fit_text(&text, label, w);
		if (text.len)
			put_xml(out, &scratch, text.data);
		fputs("</text></g>\n", out);
	}
	/* The script last: it finds the frames when it runs. */
	fprintf(out, "<script type=\"text/ecmascript\">var IMAGE_W = %d, PAD = %d, FONT = %d;"
		     "</script>\n",
		IMAGE_WIDTH, PAD, FONT_SIZE);
	fputs(script, out);
	fputs("</svg>\n", out);
	hl_buf__release(&scratch);
	hl_buf__release(&text);
	free(x);
	return 0;
}

/* ---- the svg format of `hotloop report` ------------------------------------------------- */

struct profile_labels {
	const struct hl_profile *p;
	struct hl_labels labels;
};

static const char *profile_label(void *arg, uint32_t key)
{
	struct profile_labels *pl = arg;

	return key == HL_CT_NO_FRAMES ? HL_LABEL_NO_FRAMES : hl_labels__get(&pl->labels, key);
}

static const char *profile_kind(void *arg, uint32_t key)
{
	struct profile_labels *pl = arg;
	size_t nr;

	if (key == HL_CT_NO_FRAMES)
		return "synth";
	return hl_kind_name(&hl_profile__functions(pl->p, &nr)[key]);
}

int hl_svg_write(const struct hl_profile *p, const struct hl_report_options *opts, FILE *out)
{
	const struct hl_rsummary *s = hl_profile__summary(p);
	struct profile_labels pl = {.p = p};
	struct hl_flame fl = {
		.label = profile_label,
		.kind = profile_kind,
		.arg = &pl,
		.title = opts->title ? opts->title : "Flame graph",
	};
	struct hl_calltree t;
	char subtitle[256];
	int err;

	err = hl_labels__functions(&pl.labels, p, 0);
	if (err)
		return err;
	err = hl_calltree__init(&t);
	if (!err)
		err = hl_calltree__add(&t, p, NULL, 0);
	if (!err) {
		snprintf(subtitle, sizeof(subtitle), "%" PRIu64 " samples, view %s%s%s",
			 s->selected, hl_view_name(s->view), opts->filter_label ? ", filter: " : "",
			 opts->filter_label ? opts->filter_label : "");
		fl.tree = &t;
		fl.subtitle = subtitle;
		fl.samples[0] = s->selected;
		err = hl_flame_svg_write(&fl, out);
	}
	hl_calltree__release(&t);
	hl_labels__release(&pl.labels);
	return err;
}
