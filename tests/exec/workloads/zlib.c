// SPDX-License-Identifier: GPL-2.0
/*
 * The zlib workload of `nopin exec` (issue 16): a round trip through
 * Debian's static libz.a.  A buffer of text-like data from a fixed LCG is
 * compressed with compress2() at levels 1, 6 and 9 and with a streaming
 * deflate() in small chunks, inflated back, compared, and the sizes and
 * checksums printed, so a wrong byte anywhere shows in the output.
 *
 *   exec_zlib [KIB]    (default 1024 KiB)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define CHUNK 4096

static unsigned long long lcg_state = 42;

static unsigned int lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned int)(lcg_state >> 33);
}

static void fail(const char *what, int ret)
{
	fprintf(stderr, "exec_zlib: %s failed: %d\n", what, ret);
	exit(1);
}

/* Words from a small vocabulary, so the data compresses as text does. */
static void fill(unsigned char *buf, size_t len)
{
	static const char *const words[] = { "page",	 "frame", "guest",  "host",
					     "notifier", "srcu",  "shadow", "reclaim",
					     "migrate",	 "pin",	  "fault",  "walk",
					     "tlb",	 "swap",  "mmu",    "vcpu" };
	size_t i = 0;

	while (i < len) {
		const char *w = words[lcg() % 16];
		size_t n = strlen(w);

		while (*w && i < len)
			buf[i++] = (unsigned char)*w++;
		if (i < len)
			buf[i++] = (lcg() % 12 == 0) ? '\n' : ' ';
		(void)n;
	}
}

/* deflate() then inflate() in CHUNK-sized pieces, as a streaming user does. */
static size_t stream_round_trip(const unsigned char *in, size_t len, unsigned char *out,
				unsigned char *back)
{
	z_stream s;
	size_t done = 0, total;
	int ret;

	memset(&s, 0, sizeof(s));
	if ((ret = deflateInit2(&s, 6, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY)) != Z_OK)
		fail("deflateInit2", ret);
	s.next_out = out;
	s.avail_out = (uInt)compressBound(len);
	do {
		size_t n = len - done < CHUNK ? len - done : CHUNK;

		s.next_in = (unsigned char *)in + done;
		s.avail_in = (uInt)n;
		done += n;
		ret = deflate(&s, done == len ? Z_FINISH : Z_NO_FLUSH);
		if (ret != Z_OK && ret != Z_STREAM_END)
			fail("deflate", ret);
	} while (done < len);
	total = s.total_out;
	deflateEnd(&s);

	memset(&s, 0, sizeof(s));
	if ((ret = inflateInit2(&s, 15)) != Z_OK)
		fail("inflateInit2", ret);
	s.next_in = out;
	s.avail_in = (uInt)total;
	s.next_out = back;
	do {
		s.avail_out = CHUNK;
		ret = inflate(&s, Z_NO_FLUSH);
		if (ret != Z_OK && ret != Z_STREAM_END)
			fail("inflate", ret);
	} while (ret != Z_STREAM_END);
	if (s.total_out != len)
		fail("inflate length", (int)s.total_out);
	inflateEnd(&s);
	return total;
}

int main(int argc, char **argv)
{
	static const int levels[] = { 1, 6, 9 };
	size_t len = (argc > 1 ? strtoul(argv[1], NULL, 0) : 1024) * 1024;
	uLongf bound = compressBound(len), clen, blen;
	unsigned char *in = malloc(len), *out = malloc(bound), *back = malloc(len);
	unsigned int i;
	int ret;

	if (!in || !out || !back)
		fail("malloc", 0);
	fill(in, len);
	printf("zlib %s, input %zu bytes, crc32 %08lx, adler32 %08lx\n", zlibVersion(), len,
	       crc32(0, in, (uInt)len), adler32(1, in, (uInt)len));
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		clen = bound;
		if ((ret = compress2(out, &clen, in, len, levels[i])) != Z_OK)
			fail("compress2", ret);
		blen = len;
		memset(back, 0, len);
		if ((ret = uncompress(back, &blen, out, clen)) != Z_OK)
			fail("uncompress", ret);
		printf("level %d: %lu bytes, crc32 %08lx, round trip %s\n", levels[i], clen,
		       crc32(0, out, (uInt)clen),
		       blen == len && !memcmp(in, back, len) ? "ok" : "MISMATCH");
	}
	memset(back, 0, len);
	clen = stream_round_trip(in, len, out, back);
	printf("stream: %lu bytes in %d-byte chunks, crc32 %08lx, round trip %s\n", clen, CHUNK,
	       crc32(0, out, (uInt)clen), !memcmp(in, back, len) ? "ok" : "MISMATCH");
	free(in);
	free(out);
	free(back);
	return 0;
}
