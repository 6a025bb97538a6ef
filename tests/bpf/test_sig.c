// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The HTTP signature matcher (bpf/lib/sig.h) through BPF_PROG_TEST_RUN, by way of
 * tests/bpf/sig_scan.bpf.c: it copies a payload into a per-CPU scratch buffer, as the
 * uplink's signature stage does, and reports tg_sig_match()'s verdict.
 *
 * Oracles:
 *  - handwritten requests, each with the verdict the documented rules give it
 *    (docs/guard-signatures.md): every encoding, the cases that must stay clean,
 *    payloads that are not HTTP requests, cuts at the scanned length and at TG_SIG_SCAN;
 *  - every TCP payload of the corpus captures, extracted at run time with tshark, and a
 *    classification that shares nothing with the matcher's rules (see classify()).
 * The cost per request is printed as a diagnostic, never asserted.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tollgate.h"
#include "sig_scan.skel.h"
#include "tap.h"

#define PAD 14		 /* SIG_TEST_PAD of sig_scan.bpf.c */
#define MAX_PAYLOAD 4096 /* longer corpus payloads are cut here: only 512 bytes are read */
#define XDP_PASS 2

#define SQLI TG_REASON_SQLI
#define TRAV TG_REASON_TRAVERSAL

static struct sig_scan_bpf *skel;
static int prog_fd;

static const char *verdict_name(long v)
{
	switch (v) {
	case 0:
		return "clean";
	case TG_REASON_SQLI:
		return "sqli";
	case TG_REASON_TRAVERSAL:
		return "traversal";
	default:
		return "?";
	}
}

/* One run: the payload's first n bytes; the matcher's verdict, or -1 when the run failed.
 * Also checks the length the program scanned (min(n, TG_SIG_SCAN)). */
static long scan(const void *payload, size_t n)
{
	static uint8_t pkt[PAD + MAX_PAYLOAD];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = PAD + n);

	if (n > MAX_PAYLOAD)
		return -1;
	memset(pkt, 0, PAD);
	memcpy(pkt + PAD, payload, n);
	if (bpf_prog_test_run_opts(prog_fd, &opts) || opts.retval != XDP_PASS)
		return -1;
	if (skel->bss->sig_len != (n < TG_SIG_SCAN ? n : TG_SIG_SCAN))
		return -1;
	return skel->bss->sig_verdict;
}

/* ---- handwritten cases ---- */

/* A request with a browser's ordinary headers around the target (Accept: star-slash-star
 * and the rest must never match). */
#define R(target)                                                                                \
	"GET " target " HTTP/1.1\r\nHost: www.example.com\r\n"                                   \
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0\r\n" \
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\r\n"

struct sig_case {
	const char *name;
	const char *req;
	long want;
};

static const struct sig_case cases[] = {
	/* path traversal, every encoding of "../" and "..\" */
	{ "traversal raw ../", R("/a/../../etc/hosts"), TRAV },
	{ "traversal ..%2f", R("/a/..%2fb"), TRAV },
	{ "traversal %2e%2e%2f", R("/a/%2e%2e%2fb"), TRAV },
	{ "traversal %2E%2E%2F (upper-case hex)", R("/a/%2E%2E%2Fb"), TRAV },
	{ "traversal .%2e/ (mixed)", R("/a/.%2e/b"), TRAV },
	{ "traversal raw ..\\", R("/a/..\\b"), TRAV },
	{ "traversal ..%5c", R("/a/..%5cb"), TRAV },
	{ "traversal ..%5C", R("/a/..%5Cb"), TRAV },
	{ "traversal double-encoded %252e%252e%252f", R("/a/%252e%252e%252fb"), TRAV },
	{ "traversal triple-encoded %25252e%25252e%25252f", R("/a/%25252e%25252e%25252fb"), TRAV },
	{ "traversal double-encoded backslash ..%255c", R("/a/..%255cb"), TRAV },
	{ "traversal overlong UTF-8 %c0%ae%c0%ae%c0%af", R("/a/%c0%ae%c0%ae%c0%afb"), TRAV },
	{ "traversal overlong UTF-8 ..%c0%af", R("/a/..%c0%afb"), TRAV },
	{ "traversal overlong UTF-8 backslash ..%c1%9c", R("/a/..%c1%9cb"), TRAV },
	{ "traversal in the query", R("/index.php?page=../../../../etc/passwd"), TRAV },
	{ "traversal + as space does not hide it", R("/?a=+..%2f"), TRAV },
	{ "traversal after encoded CRLFs (they do not end the headers)", R("/?a=%0d%0a%0d%0a..%2f"),
	  TRAV },
	{ "traversal in a header",
	  "GET / HTTP/1.1\r\nHost: a\r\nReferer: http://a/x/../../y\r\n\r\n", TRAV },
	{ "/etc/passwd in the query", R("/?file=/etc/passwd"), TRAV },
	{ "/etc/passwd encoded in the query", R("/?f=%2Fetc%2Fpasswd"), TRAV },
	{ "/ETC/SHADOW in the query", R("/?f=/ETC/SHADOW"), TRAV },
	{ "/proc/self/ in the query", R("/?f=/proc/self/environ"), TRAV },
	{ "\\etc\\passwd in the query", R("/?f=c:%5cetc%5cpasswd"), TRAV },
	{ "method POST", "POST /../x HTTP/1.1\r\n\r\n", TRAV },
	{ "method PUT", "PUT /../x HTTP/1.1\r\n\r\n", TRAV },
	{ "method HEAD", "HEAD /../x HTTP/1.1\r\n\r\n", TRAV },
	{ "method DELETE", "DELETE /../x HTTP/1.1\r\n\r\n", TRAV },
	{ "method OPTIONS", "OPTIONS /../x HTTP/1.1\r\n\r\n", TRAV },
	{ "method PATCH", "PATCH /../x HTTP/1.1\r\n\r\n", TRAV },
	{ "bare LF line ends", "GET /x HTTP/1.1\nHost: a\nReferer: /../\n\n", TRAV },

	/* clean, though close to traversal */
	{ "clean: /etc/passwd as the path (not the query)", R("/etc/passwd"), 0 },
	{ "clean: /etc/passwd in a header", "GET / HTTP/1.1\r\nX-File: /etc/passwd\r\n\r\n", 0 },
	{ "clean: trailing .. without a slash", R("/a/.."), 0 },
	{ "clean: dots inside names", R("/a..b/c..d/file.tar.gz"), 0 },
	{ "clean: ./ alone", R("/a/./b/"), 0 },
	{ "clean: version numbers", R("/?v=1.2..3"), 0 },
	{ "clean: %2e%2e without a slash", R("/x/%2e%2e"), 0 },
	{ "clean: ..%2g is no escape of /", R("/a/..%2g/"), 0 },
	{ "clean: %2e%2e%2 cut", "GET /a/%2e%2e%2", 0 },
	{ "clean: an ordinary DVWA file-inclusion page",
	  R("/dvwa/vulnerabilities/fi/?page=include.php"), 0 },

	/* SQL injection */
	{ "sqli ' or '1'='1", R("/?id=1'+or+'1'%3D'1"), SQLI },
	{ "sqli %27 OR %271%27=%271", R("/?id=1%27%20OR%20%271%27%3D%271"), SQLI },
	{ "sqli 'oR without a space", R("/?id=1%27oR%201=1"), SQLI },
	{ "sqli quote, tab, or", R("/?id=1'%09or%091=1"), SQLI },
	{ "sqli quote, encoded LF, or", R("/?id=1'%0aor%0a1=1"), SQLI },
	{ "sqli ' AND", R("/?id=1'+AND+1=1"), SQLI },
	{ "sqli ' union", R("/?id=1'+union+all+select+1"), SQLI },
	{ "sqli ') or ('", R("/?id=1')+or+('1'='1"), SQLI },
	{ "sqli ' ) or", R("/?id=1'%20)%20or%20(1"), SQLI },
	{ "sqli '--", R("/?id=1'--"), SQLI },
	{ "sqli ' -- ", R("/?id=1'+--+"), SQLI },
	{ "sqli '#", R("/?id=1'%23"), SQLI },
	{ "sqli ';", R("/?id=1';drop+table+users"), SQLI },
	{ "sqli '/*", R("/?id=1'/*x*/"), SQLI },
	{ "sqli double-encoded quote and spaces", R("/?id=1%2527%2520or%25201%253D1"), SQLI },
	{ "sqli %2527 (double-encoded quote), then OR", R("/?id=x%2527+OR+1"), SQLI },
	{ "sqli 'a'='a tautology", R("/?q='a'='a"), SQLI },
	{ "sqli or 1=1", R("/?id=1+or+1=1"), SQLI },
	{ "sqli OR 7=7 (encoded =)", R("/?id=1+OR+7%3D7"), SQLI },
	{ "sqli and 2=2", R("/?id=1+and+2=2"), SQLI },
	{ "sqli union select", R("/?id=1+union+select+1,2"), SQLI },
	{ "sqli UNION ALL SELECT", R("/?id=1+UNION+ALL+SELECT+1,2"), SQLI },
	{ "sqli union/**/select", R("/?id=1+union/**/select+1"), SQLI },
	{ "sqli union/**/all/**/select", R("/?id=1/**/union/**/all/**/select/**/1"), SQLI },
	{ "sqli union(select", R("/?id=1+union(select+1)"), SQLI },
	{ "sqli UnIoN, LF, SeLeCt", R("/?id=-1+UnIoN+%0aSeLeCt+1"), SQLI },
	{ "sqli sleep(", R("/?q=1+and+sleep(5)"), SQLI },
	{ "sqli pg_sleep (", R("/?q=pg_sleep+(5)"), SQLI },
	{ "sqli BENCHMARK(", R("/?q=BENCHMARK(1000000,md5(1))"), SQLI },
	{ "sqli load_file(", R("/?q=load_file(0x2f)"), SQLI },
	{ "sqli information_schema", R("/?t=information_schema.tables"), SQLI },
	{ "sqli @@version", R("/?v=%40%40version"), SQLI },
	{ "sqli waitfor delay", R("/?q=1;waitfor+delay+0"), SQLI },
	{ "sqli xp_cmdshell", R("/?q=exec+master..xp_cmdshell+dir"), SQLI },
	{ "sqli in the User-Agent", "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: x' or 1=1--\r\n\r\n",
	  SQLI },
	{ "sqli in a cookie", "GET / HTTP/1.1\r\nCookie: id=1%27%20union%20select%201\r\n\r\n",
	  SQLI },
	/* a documented false positive: a quote directly before the keyword "or" */
	{ "sqli (documented false positive) ballon d'or", R("/?q=ballon+d'or+2024"), SQLI },

	/* clean, though close to SQL */
	{ "clean: rock and roll", R("/?q=rock+and+roll"), 0 },
	{ "clean: this or that", R("/?q=this+or+that"), 0 },
	{ "clean: 'organic' in quotes", R("/?q='organic'"), 0 },
	{ "clean: don't", R("/?q=don't+stop"), 0 },
	{ "clean: O'Brien", R("/?name=O'Brien"), 0 },
	{ "clean: it's -- fine", R("/?q=it's+--+fine"), 0 },
	{ "clean: a lone quote", R("/?q=%27"), 0 },
	{ "clean: select ... union (wrong order)", R("/?q=select+from+union+station"), 0 },
	{ "clean: reunion selection", R("/?q=reunion+selection"), 0 },
	{ "clean: id=42", R("/?id=42"), 0 },
	{ "clean: 1--2 without a quote", R("/?q=1--2"), 0 },
	{ "clean: sleep well", R("/?q=sleep+well"), 0 },
	{ "clean: version", R("/?q=version+2"), 0 },
	{ "clean: or 1=2", R("/?q=1+or+1%3D2"), 0 },
	{ "clean: for 1=1 (no boundary before or)", R("/?q=for+1=1"), 0 },
	{ "clean: or 12", R("/?q=1+or+12"), 0 },
	{ "clean: 'a'='b", R("/?q='a'='b"), 0 },
	{ "clean: ordinary DVWA form", R("/dvwa/vulnerabilities/sqli/?id=1&Submit=Submit"), 0 },
	{ "clean: DVWA form without parameters", R("/dvwa/vulnerabilities/sqli/"), 0 },
	{ "clean: double quotes in sec-ch-ua",
	  "GET / HTTP/1.1\r\nsec-ch-ua: \"Chromium\";v=\"118\", \"Not=A?Brand\";v=\"99\"\r\n"
	  "If-None-Match: W/\"a--b\"\r\n\r\n",
	  0 },
	{ "clean: a quote ends one line, or begins the next",
	  "GET / HTTP/1.1\r\nX-A: it'\r\nor: 1=1\r\n\r\n", 0 },
	{ "clean: the body is not scanned (CRLF)",
	  "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\nid=1'+or+1=1", 0 },
	{ "clean: the body is not scanned (bare LF)", "GET / HTTP/1.1\nHost: a\n\n/../", 0 },

	/* documented misses (docs/guard-signatures.md, "Limits") and keyword boundaries */
	{ "clean: union selection (no boundary after the keyword)", R("/?q=1+union+selection"), 0 },
	{ "clean: /etc/passwdx in the query", R("/?f=/etc/passwdx"), 0 },
	{ "miss: a comment with text in it", R("/?id=1+union/*x*/select+1"), 0 },
	{ "miss: spaces around = in a tautology", R("/?id=1+or+1+=+1"), 0 },
	{ "miss: IIS %u002e", R("/a/%u002e%u002e/b"), 0 },
	{ "miss: 3-byte overlong UTF-8", R("/a/%e0%80%ae%e0%80%ae/b"), 0 },
	{ "miss: encoded hex digits %%32%65", R("/a/%%32%65%%32%65/b"), 0 },
	{ "miss: a pipelined second request",
	  "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /../ HTTP/1.1\r\n\r\n", 0 },
	{ "sqli (documented false positive) Dunkin' and Donuts", R("/?q=Dunkin'+and+Donuts"),
	  SQLI },

	/* not an HTTP request: never scanned */
	{ "not HTTP: lower-case method", "get /../ HTTP/1.1\r\n\r\n", 0 },
	{ "not HTTP: no space after the method", "GET/../ HTTP/1.1\r\n\r\n", 0 },
	{ "not HTTP: GETX", "GETX /../ HTTP/1.1\r\n\r\n", 0 },
	{ "not HTTP: CONNECT", "CONNECT /../ HTTP/1.1\r\n\r\n", 0 },
	{ "not HTTP: TRACE", "TRACE /../ HTTP/1.1\r\n\r\n", 0 },
	{ "not HTTP: a response", "HTTP/1.1 200 OK\r\nX: ../' or 1=1\r\n\r\n", 0 },
	{ "not HTTP: leading CRLF", "\r\nGET /../ HTTP/1.1\r\n\r\n", 0 },
	{ "not HTTP: SSH banner", "SSH-2.0-OpenSSH_9.2p1 ../ ' or 1=1\r\n", 0 },
	{ "not HTTP: HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n../", 0 },
	{ "not HTTP: empty", "", 0 },
	{ "not HTTP: GET alone", "GET", 0 },
	{ "clean: GET and a space", "GET ", 0 },
	{ "clean: GET /.. cut", "GET /..", 0 },
	{ "clean: DELETE cut before its space", "DELETE", 0 },
	{ "clean: OPTIONS cut before its space", "OPTIONS", 0 },
};

static void run_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sig_case *c = &cases[i];
		long got = scan(c->req, strlen(c->req));

		if (!tap_check(got == c->want, "%s", c->name))
			tap_diag("  got %s (%ld), want %s", verdict_name(got), got,
				 verdict_name(c->want));
	}
}

/* A TLS 1.2 ClientHello (record, handshake header, version, random, session id, cipher
 * suites, compression, an SNI extension) whose random and server name carry "../" and
 * "' or 1=1": its first byte is 0x16, so it is never scanned. */
static void run_tls(void)
{
	static const uint8_t head[] = { 0x16, 0x03, 0x01, 0x00, 0x5a, /* record */
					0x01, 0x00, 0x00, 0x56,	      /* ClientHello */
					0x03, 0x03 };
	static const char rnd[32] = "GET /../ HTTP/1.1' or 1=1-- ../";
	static const uint8_t mid[] = { 0x00,				   /* session id */
				       0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f, /* suites */
				       0x01, 0x00,			   /* compression */
				       0x00, 0x19,			   /* extensions */
				       0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x12 };
	static const char sni[] = "../../' or 1=1-- x";
	uint8_t b[128];
	size_t n = 0;

	memcpy(b + n, head, sizeof(head));
	n += sizeof(head);
	memcpy(b + n, rnd, sizeof(rnd));
	n += sizeof(rnd);
	memcpy(b + n, mid, sizeof(mid));
	n += sizeof(mid);
	memcpy(b + n, sni, sizeof(sni) - 1);
	n += sizeof(sni) - 1;
	tap_equal_u64(scan(b, n), 0, "not HTTP: TLS ClientHello (%zu bytes) is not scanned", n);
}

/* Cuts: the verdict may change only once the last byte of a rule is inside len. */
static void run_cuts(void)
{
	static const struct {
		const char *req, *upto; /* the request; the rule completes at the end of upto */
		long want;
	} cuts[] = {
		{ R("/a/../b"), "GET /a/../", TRAV },
		{ R("/a/..%2fb"), "GET /a/..%2f", TRAV },
		{ R("/?id=1'+or+1"), "GET /?id=1'+or+", SQLI },
		{ R("/?q=x+union+select+1"), "GET /?q=x+union+select+", SQLI },
		{ R("/?f=/etc/passwd"), "GET /?f=/etc/passwd ", TRAV },
		{ R("/?q='x'='x"), "GET /?q='x'='x ", SQLI },
	};

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t k = strlen(cuts[i].upto);
		long short_ = scan(cuts[i].req, k - 1), at = scan(cuts[i].req, k);

		if (!tap_check(strncmp(cuts[i].req, cuts[i].upto, k) == 0 && short_ == 0 &&
				       at == cuts[i].want,
			       "cut at len: \"%s\" clean with %zu bytes, %s with %zu", cuts[i].upto,
			       k - 1, verdict_name(cuts[i].want), k))
			tap_diag("  got %s and %s", verdict_name(short_), verdict_name(at));
	}
}

/* TG_SIG_SCAN: a rule completing on byte 511 counts, on byte 512 it is beyond the scan.
 * Also the scratch buffer's stale bytes past len are never read. */
static void run_window(void)
{
	char b[1400];
	long got;
	size_t n;

	for (int last = TG_SIG_SCAN - 1; last <= TG_SIG_SCAN; last++) {
		/* "GET /" + 'a' ... + "../" ending at index last, then more */
		memset(b, 'a', sizeof(b));
		memcpy(b, "GET /", 5);
		memcpy(b + last - 2, "../", 3);
		memcpy(b + 900, " HTTP/1.1\r\n\r\n", 13);
		got = scan(b, 913);
		tap_equal_u64(got, last < TG_SIG_SCAN ? TRAV : 0,
			      "\"../\" ending at byte %d of a 913-byte request: %s", last,
			      last < TG_SIG_SCAN ? "traversal" : "beyond the scan, clean");
	}

	/* a long request (1400 bytes), the injection early */
	n = snprintf(b, sizeof(b), "GET /?id=1%%27+or+1=1 HTTP/1.1\r\nX-Pad: ");
	memset(b + n, 'p', sizeof(b) - n);
	tap_equal_u64(scan(b, sizeof(b)), SQLI, "a 1400-byte request, injection in the first line");

	/* stale bytes: a traversal at 400, then the same request cut to 300 bytes */
	memset(b, 'a', sizeof(b));
	memcpy(b, "GET /", 5);
	memcpy(b + 400, "../", 3);
	got = scan(b, 600);
	tap_equal_u64(got, TRAV, "600-byte request with ../ at byte 400");
	got = scan(b, 300);
	tap_equal_u64(got, 0, "the same cut to 300 bytes: the stale scratch bytes are not read");
}

/* The matcher in a tail-called stage: sig_entry jumps to sig_scan through a program
 * array, as the uplink program does. */
static void run_tail_call(void)
{
	static const char req[] = R("/a/..%2fb");
	static uint8_t pkt[PAD + sizeof(req)];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt) - 1);
	int entry = bpf_program__fd(skel->progs.sig_entry), k = 0;
	unsigned runs = skel->bss->sig_runs;

	memcpy(pkt + PAD, req, sizeof(req) - 1);
	if (!tap_check(bpf_map_update_elem(bpf_map__fd(skel->maps.sig_stages), &k, &prog_fd,
					   BPF_ANY) == 0,
		       "the stage goes into the program array"))
		return;
	skel->bss->sig_verdict = 0;
	tap_check(bpf_prog_test_run_opts(entry, &opts) == 0 && opts.retval == XDP_PASS &&
			  skel->bss->sig_runs == runs + 1 && skel->bss->sig_verdict == TRAV,
		  "tail call into the stage: it ran once and found the traversal");
}

/* ---- the corpus ---- */

/*
 * The independent classification, from the request target tshark decoded, by the
 * parameters of the DVWA forms the attack captures exercise (the two captures hold
 * nothing but the attacks: three requests to the SQL-injection form, one to the
 * file-inclusion form; their ordinary page loads are not in them):
 *  - SQL injection: an "id" query parameter that is not a plain decimal integer (the
 *    form asks for a user id);
 *  - traversal: a "page" query parameter containing ".." (the form takes a file name).
 * Every other request, and every TCP payload that is not an HTTP request, is clean.
 */
static long classify(const char *uri)
{
	const char *q = strchr(uri, '?');
	char buf[2048], *save = NULL;

	if (!q)
		return 0;
	snprintf(buf, sizeof(buf), "%s", q + 1);
	for (char *p = strtok_r(buf, "&", &save); p; p = strtok_r(NULL, "&", &save)) {
		char *v = strchr(p, '=');

		if (!v)
			continue;
		*v++ = '\0';
		if (!strcmp(p, "id") && (!*v || strspn(v, "0123456789") != strlen(v)))
			return SQLI;
		if (!strcmp(p, "page") && strstr(v, ".."))
			return TRAV;
	}
	return 0;
}

static int unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; h[0] && h[1] && n < cap; h += 2) {
		unsigned v;

		if (sscanf(h, "%2x", &v) != 1)
			return -1;
		out[n++] = v;
	}
	return n;
}

static const char *corpus_dir(void)
{
	static char dir[4096];
	const char *env = getenv("TG_CORPUS");
	FILE *p;

	if (env && *env)
		return env;
	if (access("../shared/corpus/pcap", R_OK) == 0)
		return "../shared/corpus/pcap";
	/* a git worktree: beside the main checkout */
	p = popen("git rev-parse --path-format=absolute --git-common-dir 2>/dev/null", "r");
	if (p) {
		char common[2048] = "";

		if (fgets(common, sizeof(common), p)) {
			char *slash;

			common[strcspn(common, "\n")] = '\0';
			slash = strrchr(common, '/');
			if (slash) {
				*slash = '\0';
				snprintf(dir, sizeof(dir), "%s/../shared/corpus/pcap", common);
			}
		}
		pclose(p);
	}
	return dir[0] && access(dir, R_OK) == 0 ? dir : NULL;
}

struct capture {
	const char *file;
	int min_sqli, min_trav; /* the classification must find at least these */
};

static const struct capture captures[] = {
	{ "http_dvwa_sqlinjection.pcapng", 1, 0 },
	{ "http_dvwa_directorytraversal.pcapng", 0, 1 },
	{ "http_google.pcapng", 0, 0 },
	{ "http_post.pcapng", 0, 0 },
	{ "http_ip4and6.pcapng", 0, 0 },
	{ "tcp_ports.pcapng", 0, 0 },
	{ "dns_tcp.pcapng", 0, 0 },
};

/*
 * Every TCP payload of the capture, each frame on its own (TCP reassembly off: the stage
 * sees one segment). tshark names the requests (http.request.uri); the rest must be
 * clean since they are not requests.
 */
static void run_capture(const char *dir, const struct capture *c)
{
	static char line[2 * MAX_PAYLOAD + 4096];
	static uint8_t payload[MAX_PAYLOAD];
	int payloads = 0, requests = 0, sqli = 0, trav = 0, other_bad = 0;
	char cmd[4096];
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "tshark -r '%s/%s' -o tcp.desegment_tcp_streams:FALSE -Y 'tcp.len > 0' "
		 "-T fields -E separator=/t -e frame.number -e http.request.uri -e tcp.payload "
		 "2>/dev/null",
		 dir, c->file);
	p = popen(cmd, "r");
	if (!tap_check(p != NULL, "%s: tshark runs", c->file))
		return;
	while (fgets(line, sizeof(line), p)) {
		char *frame = line, *uri, *hex;
		long want, got;
		int n;

		line[strcspn(line, "\n")] = '\0';
		uri = strchr(frame, '\t');
		hex = uri ? strchr(uri + 1, '\t') : NULL;
		if (!hex) {
			tap_check(0, "%s: a line of tshark output has three fields", c->file);
			continue;
		}
		*uri++ = '\0';
		*hex++ = '\0';
		n = unhex(hex, payload, sizeof(payload)); /* longer payloads: the first 4 KiB */
		if (n <= 0) {
			tap_check(0, "%s frame %s: tcp.payload decodes", c->file, frame);
			continue;
		}
		payloads++;
		want = *uri ? classify(uri) : 0;
		got = scan(payload, n);
		if (!*uri) {
			if (got != 0) {
				other_bad++;
				tap_diag("%s frame %s: not a request but %s", c->file, frame,
					 verdict_name(got));
			}
			continue;
		}
		requests++;
		sqli += want == SQLI;
		trav += want == TRAV;
		if (!tap_check(got == want, "%s frame %s: %.80s is %s", c->file, frame, uri,
			       verdict_name(want)))
			tap_diag("  got %s (%ld)", verdict_name(got), got);
	}
	if (pclose(p) != 0)
		tap_check(0, "%s: tshark exits 0", c->file);
	tap_check(payloads > 0, "%s: tshark found %d TCP payloads", c->file, payloads);
	tap_check(other_bad == 0, "%s: the %d payloads that are not HTTP requests are clean",
		  c->file, payloads - requests);
	tap_check(sqli >= c->min_sqli && trav >= c->min_trav,
		  "%s: %d requests, classified %d sqli and %d traversal (at least %d and %d)",
		  c->file, requests, sqli, trav, c->min_sqli, c->min_trav);
}

static void run_corpus(void)
{
	const char *dir = corpus_dir();

	if (!tap_check(dir != NULL, "capture corpus found (TG_CORPUS or ../shared/corpus/pcap)"))
		return;
	if (!tap_check(system("tshark -v >/dev/null 2>&1") == 0,
		       "tshark is installed (make deps installs it)"))
		return;
	for (size_t i = 0; i < sizeof(captures) / sizeof(captures[0]); i++)
		run_capture(dir, &captures[i]);
}

/* ---- cost (printed only) ---- */

static double ns_per_run(const void *payload, size_t n, int repeat)
{
	static uint8_t pkt[PAD + MAX_PAYLOAD];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = PAD + n,
		    .repeat = repeat);

	memset(pkt, 0, PAD);
	memcpy(pkt + PAD, payload, n);
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -1;
	return opts.duration;
}

static void run_cost(void)
{
	static const char *hdr =
		"Accept-Language: en-US,en;q=0.8\r\nCookie: security=low; PHPSESSID=8tokslnu6t\r\n";
	char req[TG_SIG_SCAN], pct[TG_SIG_SCAN], quotes[TG_SIG_SCAN], other[TG_SIG_SCAN];
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	size_t n;

	/* a clean request of 512 bytes without its blank line: every byte is scanned */
	n = snprintf(req, sizeof(req),
		     "GET /dvwa/vulnerabilities/sqli/?id=1&Submit=Submit "
		     "HTTP/1.1\r\nHost: 10.2.2.104\r\n");
	for (; n < sizeof(req); n++)
		req[n] = hdr[n % strlen(hdr)];
	/* percent escapes; a quote every other byte (the rules run at every boundary); a
	 * payload that is not a request */
	memcpy(pct, "GET /", 5);
	for (n = 5; n + 3 <= sizeof(pct); n += 3)
		memcpy(pct + n, "%41", 3);
	memset(pct + n, 'a', sizeof(pct) - n);
	memcpy(quotes, "GET /", 5);
	for (n = 5; n < sizeof(quotes); n++)
		quotes[n] = n % 2 ? '\'' : 'a';
	memset(other, 'x', sizeof(other));

	tap_check(scan(req, sizeof(req)) == 0 && scan(pct, sizeof(pct)) == 0 &&
			  scan(quotes, sizeof(quotes)) == 0 && scan(other, sizeof(other)) == 0,
		  "the payloads timed below are clean");
	if (!bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		tap_diag("sig_scan: %u instructions after the verifier, %u verified",
			 info.xlated_prog_len / 8, info.verified_insns);
	for (int round = 0; round < 3; round++)
		tap_diag("ns per run (repeat 20000): 512 bytes not HTTP %.0f; 512-byte requests: "
			 "headers %.0f, %%41 escapes %.0f, a quote every other byte %.0f",
			 ns_per_run(other, sizeof(other), 20000),
			 ns_per_run(req, sizeof(req), 20000), ns_per_run(pct, sizeof(pct), 20000),
			 ns_per_run(quotes, sizeof(quotes), 20000));
}

int main(void)
{
	int err;

	skel = sig_scan_bpf__open_and_load();
	err = skel ? 0 : -errno;
	if (!tap_check(skel != NULL, "sig_scan loads (the verifier accepts tg_sig_match): %s",
		       strerror(-err)))
		return tap_done();
	prog_fd = bpf_program__fd(skel->progs.sig_scan);

	run_cases();
	run_tls();
	run_cuts();
	run_window();
	run_tail_call();
	run_corpus();
	run_cost();

	sig_scan_bpf__destroy(skel);
	return tap_done();
}
