/*
 * view-chain — the chain the broker presented, as a tree from the root down to the leaf
 * (with the certificates it did not send shown as gaps), and the selected certificate's
 * fields: the SAN that matches the target marked, the mismatch explained when none does,
 * and the validity period as a bar with today on it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqttls/chain.h"
#include "mqttls/diag.h"
#include "mqttls/util.h"
#include "tui.h"

#define MAX_NODES 24

struct node {
	int cert;          /* index into the chain, -1 for a certificate that was not sent */
	const char *name;  /* subject, or the issuer a gap stands for */
	int depth;         /* indentation */
};

struct vchain {
	struct tui_pane tree, info;
	struct node nodes[MAX_NODES];
	int nnodes;
	unsigned run;
	bool want_leaf;        /* select the leaf once the chain is in: it is what the target is about */
	int tree_y, info_y;    /* rows within the view, as last drawn */
};

static const struct tui_key_help keys[] = {
	{ "Up Down", "select a certificate in the chain" },
	{ "PgUp PgDn Home End", "scroll the selected certificate's fields" },
	{ "r", "run the diagnosis again" },
	{ "d", "back to the Diagnose view" },
	{ NULL, NULL },
};

static void *vchain_create(struct tui *t)
{
	struct vchain *v = calloc(1, sizeof *v);
	(void)t;
	if (!v)
		abort();
	v->tree.selectable = true;
	v->info.selectable = false;
	return v;
}

static void vchain_destroy(struct tui *t, void *p)
{
	struct vchain *v = p;
	(void)t;
	lines_free(&v->tree.lines);
	lines_free(&v->info.lines);
	free(v);
}

/* Root at the top: the presented order (leaf first) reversed, with gaps where an issuer is missing. */
static void build_nodes(struct vchain *v, const struct diag_result *r)
{
	int n = (int)r->n_chain, depth = 0;

	v->nnodes = 0;
	if (n <= 0)
		return;
	if (!r->chain[n - 1].self_issued && v->nnodes < MAX_NODES)
		v->nodes[v->nnodes++] = (struct node){ -1, r->chain[n - 1].issuer, depth++ };
	for (int i = n - 1; i >= 0 && v->nnodes < MAX_NODES; i--) {
		const struct cert_info *c = &r->chain[i];
		if (i < n - 1 && strcmp(c->issuer ? c->issuer : "", r->chain[i + 1].subject ? r->chain[i + 1].subject : "") &&
		    v->nnodes < MAX_NODES - 1)
			v->nodes[v->nnodes++] = (struct node){ -1, c->issuer, depth++ };
		v->nodes[v->nnodes++] = (struct node){ i, c->subject, depth++ };
	}
}

static void fill_tree(struct tui *t, struct vchain *v, const struct diag_result *r)
{
	struct tui_lines *l = &v->tree.lines;
	int item = 0;

	for (int k = 0; k < v->nnodes; k++) {
		const struct node *nd = &v->nodes[k];
		int sel_item = nd->cert >= 0 ? item++ : -1;

		lines_add(l, sel_item, S_NORMAL, " %*s", nd->depth * 3, "");
		if (nd->depth > 0)
			lines_seg(l, S_DIM, "%s", draw_glyph(t, G_TREE_END));
		if (nd->cert < 0) {
			/* A missing root is normal (the client holds it); a missing link in the middle is not. */
			long vc = r->tls.verify_code;
			bool bad = nd->depth > 0 || vc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
				   vc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
			lines_seg(l, bad ? S_WARN : S_DIM, "%s", "? ");
			lines_seg_untrusted(l, S_DIM, nd->name ? nd->name : "", nd->name ? strlen(nd->name) : 0);
			lines_seg(l, bad ? S_WARN : S_DIM, "  %s",
				  nd->depth ? "MISSING: the broker did not send this issuer"
				  : bad	    ? "not sent, and the CA file does not have it"
					    : "not sent (clients hold the root)");
			continue;
		}
		const struct cert_info *c = &r->chain[nd->cert];
		lines_seg_untrusted(l, nd->cert == 0 ? S_BOLD : S_NORMAL, c->subject ? c->subject : "",
				    c->subject ? strlen(c->subject) : 0);
		lines_seg(l, S_DIM, "  %s%s", nd->cert == 0 ? "leaf" : c->is_ca ? "CA" : "not a CA",
			  c->self_signed ? ", self-signed" : "");
	}
	v->tree.nitems = item;
}

static const struct cert_info *selected_cert(const struct vchain *v, const struct diag_result *r)
{
	int item = 0;
	for (int k = 0; k < v->nnodes; k++) {
		if (v->nodes[k].cert < 0)
			continue;
		if (item++ == v->tree.sel)
			return &r->chain[v->nodes[k].cert];
	}
	return NULL;
}

static void field_line(struct tui *t, struct tui_lines *l, const char *label, const char *value, bool untrusted)
{
	char *e = untrusted ? mq_escape_dup(value ? value : "", value ? strlen(value) : 0) : NULL;

	lines_add(l, -1, S_DIM, " %-12s", label);
	/* Long subjects and fingerprints continue under themselves. */
	lines_wrap_seg(t, l, S_NORMAL, 13, e ? e : value ? value : "");
	free(e);
}

static void join_list(char *buf, size_t size, char *const *v, size_t n)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", v[i]);
}

static void validity_bar(struct tui *t, struct tui_lines *l, const struct cert_info *c, int width)
{
	long long now = (long long)time(NULL), span = c->not_after - c->not_before;
	int bw = width - 16, pos;
	char a[32], b[32];

	if (bw > 60)
		bw = 60;
	if (bw < 10)
		bw = 10;
	lines_add(l, -1, S_DIM, " %-12s", "Valid");
	lines_seg(l, S_NORMAL, "%s .. %s", mq_iso8601(c->not_before, a, sizeof a), mq_iso8601(c->not_after, b, sizeof b));
	if (span <= 0)
		pos = now < c->not_before ? 0 : bw - 1;
	else if (now <= c->not_before)
		pos = 0;
	else if (now >= c->not_after)
		pos = bw - 1;
	else
		pos = (int)((double)(now - c->not_before) / (double)span * (bw - 1));

	/* The bar: elapsed part full, today marked, the rest empty; red once expired. */
	{
		bool bad = now < c->not_before || now > c->not_after;
		struct mq_str s = { 0 };
		lines_add(l, -1, S_DIM, " %-12s", "");
		for (int i = 0; i < pos; i++)
			mq_str_printf(&s, "%s", draw_glyph(t, G_BAR_FULL));
		lines_seg(l, bad ? S_FAIL : S_OK, "%s", s.s ? s.s : "");
		mq_str_free(&s);
		lines_seg(l, S_BOLD, "%s", draw_glyph(t, G_TODAY));
		for (int i = pos + 1; i < bw; i++)
			mq_str_printf(&s, "%s", draw_glyph(t, G_BAR_EMPTY));
		lines_seg(l, S_DIM, "%s", s.s ? s.s : "");
		mq_str_free(&s);
	}
	{
		char when[128];
		if (now < c->not_before)
			snprintf(when, sizeof when, "today: NOT YET VALID, starts in %lld days (check the clock)",
				 (c->not_before - now + 86399) / 86400);
		else if (now > c->not_after)
			snprintf(when, sizeof when, "today: EXPIRED %lld days ago", (now - c->not_after) / 86400);
		else
			snprintf(when, sizeof when, "today: valid, %lld days left of %lld", (c->not_after - now) / 86400,
				 span / 86400);
		lines_add(l, -1, S_DIM, " %-12s", "");
		lines_seg(l, now < c->not_before || now > c->not_after ? S_FAIL : S_NORMAL, "%s", when);
	}
}

static bool is_address(const char *h)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

static void names(struct tui *t, struct tui_lines *l, const struct cert_info *c, const char *host, bool leaf)
{
	const char *matched = NULL;
	bool match = leaf && host && cert_info_matches_host(c, host, &matched);
	bool any = false;
	char hosttxt[300];

	mq_escape(host ? host : "", host ? strlen(host) : 0, hosttxt, sizeof hosttxt);
	for (int kind = 0; kind < 2; kind++) {
		char **v = kind ? c->san_ip : c->san_dns;
		size_t n = kind ? c->n_san_ip : c->n_san_dns;
		for (size_t i = 0; i < n; i++) {
			bool hit = match && matched == v[i];
			lines_add(l, -1, S_DIM, " %-12s", any ? "" : "Names (SAN)");
			lines_seg(l, hit ? S_MATCH : S_NORMAL, "%s", kind ? "IP:" : "DNS:");
			lines_seg_untrusted(l, hit ? S_MATCH : S_NORMAL, v[i], strlen(v[i]));
			if (hit)
				lines_seg(l, S_OK, " %s matches %s", draw_glyph(t, G_MARK), hosttxt);
			any = true;
		}
	}
	if (!any)
		lines_add(l, -1, S_DIM, " %-12s%s", "Names (SAN)", c->has_san ? "(none of type DNS or IP)" : "(no subjectAltName)");
	if (c->cn) {
		bool hit = match && matched == c->cn;
		lines_add(l, -1, S_DIM, " %-12s", "CN");
		lines_seg_untrusted(l, hit ? S_MATCH : S_NORMAL, c->cn, strlen(c->cn));
		if (hit)
			lines_seg(l, S_WARN, " %s matches %s (only because there is no SAN)", draw_glyph(t, G_MARK), hosttxt);
		else if (leaf && c->has_san)
			lines_seg(l, S_DIM, "  %s", "(ignored: the SAN decides)");
	}
	if (!leaf || !host || match)
		return;

	/* No name matched: say why in the user's terms. */
	{
		struct mq_str s = { 0 };
		if (is_address(host)) {
			mq_str_printf(&s,
				      "You connected to %s, an IP address. A certificate covers an address only with an "
				      "IP: entry in its subjectAltName, and this one has %s. Connect by a name it lists, "
				      "or issue the broker a certificate with IP:%s (mqttls certs server --san IP:%s).",
				      hosttxt, c->n_san_ip ? "other addresses only" : "no IP: entry at all", hosttxt,
				      hosttxt);
		} else if (!c->has_san) {
			mq_str_printf(&s,
				      "You connected to %s. This certificate has no subjectAltName, so only its CN could "
				      "match, and it does not. Issue it with DNS:%s in the subjectAltName.",
				      hosttxt, hosttxt);
		} else {
			mq_str_printf(&s,
				      "You connected to %s, and no DNS: name above matches it (a wildcard covers one "
				      "label only; the CN is ignored when a SAN exists). Connect by a listed name, or "
				      "add DNS:%s to the certificate.",
				      hosttxt, hosttxt);
		}
		lines_add(l, -1, S_FAIL, " %-12s%s", "Mismatch", "no name in this certificate matches the target");
		lines_wrap(t, l, -1, S_NORMAL, 13, s.s);
		mq_str_free(&s);
	}
}

static void fill_info(struct tui *t, struct vchain *v, const struct cert_info *c, const struct diag_result *r,
		      int width)
{
	struct tui_lines *l = &v->info.lines;
	char buf[1024];

	field_line(t, l, "Subject", c->subject, true);
	field_line(t, l, "Issuer", c->issuer, true);
	/* A CA's names matter to no one: they are noise unless it has some. */
	if (c->depth == 0 || c->has_san)
		names(t, l, c, r->host, c->depth == 0);
	validity_bar(t, l, c, width);
	field_line(t, l, "Key", c->key, true);
	field_line(t, l, "Signature", c->sig_alg, true);
	if (c->has_key_usage) {
		join_list(buf, sizeof buf, c->key_usage, c->n_key_usage);
		field_line(t, l, "Key usage", buf, true);
	}
	if (c->has_eku) {
		join_list(buf, sizeof buf, c->eku, c->n_eku);
		field_line(t, l, "Ext. usage", buf, true);
	}
	if (c->has_bc) {
		if (c->is_ca && c->pathlen >= 0)
			snprintf(buf, sizeof buf, "CA, path length %d%s", c->pathlen, c->bc_critical ? " (critical)" : "");
		else
			snprintf(buf, sizeof buf, "%s%s", c->is_ca ? "CA" : "not a CA", c->bc_critical ? " (critical)" : "");
		field_line(t, l, "Constraints", buf, false);
	}
	field_line(t, l, "Serial", c->serial, true);
	if (c->ski)
		field_line(t, l, "Subject KID", c->ski, true);
	if (c->aki)
		field_line(t, l, "Issuer KID", c->aki, true);
	field_line(t, l, "SHA-256", c->sha256, true);
	field_line(t, l, "SPKI SHA-256", c->spki_sha256, true);
}

static void vchain_draw(struct tui *t, void *p, const struct tui_rect *rect)
{
	struct vchain *v = p;
	const struct model *m = &t->model;
	const struct diag_result *r = model_result(t);
	char head[512];
	int y = rect->y, th;

	lines_clear(&v->tree.lines);
	lines_clear(&v->info.lines);
	if (v->run != m->run) {
		v->run = m->run;
		v->tree.sel = 0;
		v->tree.top = 0;
		v->info.top = 0;
		v->want_leaf = true;
	}
	if (!r || r->n_chain == 0) {
		const char *why = !m->have_target ? "Nothing diagnosed yet."
				  : m->running	  ? "Waiting for the TLS handshake..."
				  : r && !r->tls_target ? "Plain MQTT (mqtt://): there is no certificate."
							  : "The broker presented no certificate: the TLS stage did not get that far "
							    "(see the Diagnose view).";
		draw_text(t, y + 1, rect->x + 2, rect->w - 3, S_NORMAL, why);
		v->nnodes = 0;
		return;
	}

	/* The handshake in one line. */
	{
		const struct diag_tls *tl = &r->tls;
		snprintf(head, sizeof head, " Chain from %s: %zu certificate%s", m->label, r->n_chain,
			 r->n_chain == 1 ? "" : "s");
		draw_text(t, y++, rect->x, rect->w, S_BOLD, head);
		if (tl->version[0]) {
			snprintf(head, sizeof head, " %s %s %s  ", tl->version, tl->cipher, tl->group);
			int x = rect->x + draw_text(t, y, rect->x, rect->w, S_NORMAL, head);
			if (tl->verify_code == 0)
				draw_text(t, y, x, rect->x + rect->w - x, S_OK, "verified");
			else {
				char vt[200];
				snprintf(vt, sizeof vt, "verify: %s", tl->verify_text);
				draw_text(t, y, x, rect->x + rect->w - x, S_FAIL, vt);
			}
		}
		y++;
	}

	build_nodes(v, r);
	v->tree.lines.width = rect->w;
	fill_tree(t, v, r);
	if (v->want_leaf) {
		v->tree.sel = v->tree.nitems - 1;
		v->want_leaf = !m->done;
	}
	th = (int)v->tree.lines.n;
	if (th > rect->h / 3)
		th = rect->h / 3 > 2 ? rect->h / 3 : 2;
	v->tree_y = y - rect->y;
	pane_draw(t, &v->tree, &(struct tui_rect){ y, rect->x, th, rect->w });
	y += th;
	{
		int x = rect->x;
		for (; x < rect->x + rect->w; x++)
			draw_text(t, y, x, 1, S_DIM, draw_glyph(t, G_HLINE));
	}
	y++;

	{
		const struct cert_info *c = selected_cert(v, r);
		if (c) {
			v->info.lines.width = rect->w - 1;
			fill_info(t, v, c, r, rect->w);
		}
		v->info_y = y - rect->y;
		pane_draw(t, &v->info, &(struct tui_rect){ y, rect->x, rect->y + rect->h - y, rect->w });
	}
}

static int vchain_key(struct tui *t, void *p, int key)
{
	struct vchain *v = p;
	int old = v->tree.sel;

	switch (key) {
	case K_UP:
	case K_DOWN: {
		int r = pane_key(&v->tree, key);
		v->want_leaf = false;
		if (v->tree.sel != old)
			v->info.top = 0;
		return r;
	}
	case K_PGUP:
	case K_PGDN:
	case K_HOME:
	case K_END:
	case ' ':
		return pane_key(&v->info, key);
	case 'r':
	case 'R':
		model_rerun(t);
		return TUI_REDRAW;
	case 'd':
		tui_switch(t, V_DIAGNOSE);
		return TUI_REDRAW;
	}
	return TUI_UNHANDLED;
}

static int vchain_click(struct tui *t, void *p, int y, int x)
{
	struct vchain *v = p;
	int item = pane_item_at(&v->tree, y - v->tree_y);

	(void)t;
	(void)x;
	if (item < 0)
		return 0;
	if (item != v->tree.sel)
		v->info.top = 0;
	v->tree.sel = item;
	v->want_leaf = false;
	return TUI_REDRAW;
}

static int vchain_wheel(struct tui *t, void *p, int y, int delta)
{
	struct vchain *v = p;
	(void)t;
	if (y < v->info_y)
		return pane_scroll(&v->tree, delta);
	return pane_scroll(&v->info, delta);
}

const struct tui_view view_chain = {
	.name = "Chain",
	.keys = keys,
	.hint = "Up/Down:certificate  PgUp/PgDn:scroll  r:re-run",
	.create = vchain_create,
	.destroy = vchain_destroy,
	.draw = vchain_draw,
	.key = vchain_key,
	.click = vchain_click,
	.wheel = vchain_wheel,
};
