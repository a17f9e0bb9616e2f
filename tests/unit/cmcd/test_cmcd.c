/* Unit tests for CMCD (CTA-5004 v1) payloads (public API only): the official
 * vector of shared/design/standards.md §8.2 both ways (formatted byte for
 * byte, as payload, query and header shards; parsed back to the input after
 * the rounding rules), the CTA-5004-A v1 body example, the rounding of bl /
 * dl / mtp / rtp / d / pr, the header shards parsed into one struct, the
 * query argument, extra keys, malformed payloads (each an EPROTO naming the
 * key and offset, leaving the struct unchanged) and argument checks. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/cmcd.h"

/* The official vector (SVTA common-media-library lib/test/cmcd/data). */
static const char VECTOR[] =
    "br=200,bs,cid=\"content-id\",com.example-exists,com.example-hello=\"world\","
    "com.example-quote=\"\\\"Quote\\\"\",com.example-testing=1234,com.example-token=s,d=325,"
    "mtp=10000,nor=\"..%2Ftesting%2F3.m4v\",nrr=\"0-99\",ot=m,pb=1000,sid=\"session-id\"";
static const char VECTOR_QUERY[] =
    "CMCD=br%3D200%2Cbs%2Ccid%3D%22content-id%22%2Ccom.example-exists%2Ccom.example-hello%3D%"
    "22world%22%2Ccom.example-quote%3D%22%5C%22Quote%5C%22%22%2Ccom.example-testing%3D1234%2Ccom."
    "example-token%3Ds%2Cd%3D325%2Cmtp%3D10000%2Cnor%3D%22..%252Ftesting%252F3.m4v%22%2Cnrr%3D%"
    "220-99%22%2Cot%3Dm%2Cpb%3D1000%2Csid%3D%22session-id%22";
/* The v1-only header split of the same data. */
static const char VECTOR_HEADERS[] =
    "CMCD-Object: br=200,d=325,ot=m\n"
    "CMCD-Request: mtp=10000,nor=\"..%2Ftesting%2F3.m4v\",nrr=\"0-99\"\n"
    "CMCD-Session: cid=\"content-id\",sid=\"session-id\"\n"
    "CMCD-Status: bs";
/* CTA-5004-A §3.3's v1 body record. */
static const char BODY[] =
    "bl=11200,br=67,d=4011,dl=11200,mtp=42900,nor=\"bbb_a64k_5.m4a\",ot=a,rtp=200,sf=d,"
    "sid=\"31b090a2-def1-44f9-87f8-4f8213c7bf63\",st=v,tb=67";

static void add_extra(stream_cmcd *c, const char *key, int type, const char *value)
{
  ck_assert_uint_lt(c->n_extra, STREAM_CMCD_EXTRA_MAX);
  stream_cmcd_extra *e = &c->extra[c->n_extra++];
  snprintf(e->key, sizeof e->key, "%s", key);
  e->type = type;
  snprintf(e->value, sizeof e->value, "%s", value);
}

/* The vector's input: {sid, cid, su:false, nor, nrr, d:324.69, mtp:10049, bs:true, br:200, v:1,
 * pr:1, pb:1000, ot:'m', custom keys...}; com.example-not-exists (false) is simply not set. */
static stream_cmcd vector_input(int with_extras)
{
  stream_cmcd c;
  ck_assert_int_eq(stream_cmcd_init(&c), STREAM_OK);
  snprintf(c.sid, sizeof c.sid, "session-id");
  snprintf(c.cid, sizeof c.cid, "content-id");
  c.su = 0;
  snprintf(c.nor, sizeof c.nor, "../testing/3.m4v");
  snprintf(c.nrr, sizeof c.nrr, "0-99");
  c.d = 324.69;
  c.mtp = 10049;
  c.bs = 1;
  c.br = 200;
  c.v = 1;
  c.pr = 1;
  snprintf(c.ot, sizeof c.ot, "m");
  if (with_extras) {
    add_extra(&c, "pb", STREAM_CMCD_INTEGER, "1000");
    add_extra(&c, "com.example-hello", STREAM_CMCD_STRING, "world");
    add_extra(&c, "com.example-testing", STREAM_CMCD_INTEGER, "1234");
    add_extra(&c, "com.example-exists", STREAM_CMCD_BOOLEAN, "");
    add_extra(&c, "com.example-token", STREAM_CMCD_TOKEN, "s");
    add_extra(&c, "com.example-quote", STREAM_CMCD_STRING, "\"Quote\"");
  }
  return c;
}

static char *fmt(const stream_cmcd *c, int mode)
{
  char *out = NULL;
  int rc = stream_cmcd_format(&out, c, mode);
  ck_assert_msg(rc == STREAM_OK, "format: %d %s", rc,
                stream_error_last() ? stream_error_last()->message : "");
  ck_assert_ptr_nonnull(out);
  return out;
}

static stream_cmcd parsed(const char *payload)
{
  stream_cmcd c;
  ck_assert_int_eq(stream_cmcd_init(&c), STREAM_OK);
  int rc = stream_cmcd_parse(&c, payload, strlen(payload));
  ck_assert_msg(rc == STREAM_OK, "parse '%s': %d %s", payload, rc,
                stream_error_last() ? stream_error_last()->message : "");
  return c;
}

static const stream_cmcd_extra *find_extra(const stream_cmcd *c, const char *key)
{
  for (size_t i = 0; i < c->n_extra && i < STREAM_CMCD_EXTRA_MAX; i++)
    if (strcmp(c->extra[i].key, key) == 0)
      return &c->extra[i];
  return NULL;
}

/* The v1 fields of two structs are equal (extras compared by the callers). */
static void assert_same_v1(const stream_cmcd *a, const stream_cmcd *b)
{
  ck_assert_int_eq(a->br, b->br);
  ck_assert(a->d == b->d);
  ck_assert_str_eq(a->ot, b->ot);
  ck_assert_int_eq(a->tb, b->tb);
  ck_assert_int_eq(a->bl, b->bl);
  ck_assert_int_eq(a->dl, b->dl);
  ck_assert_int_eq(a->mtp, b->mtp);
  ck_assert_str_eq(a->nor, b->nor);
  ck_assert_str_eq(a->nrr, b->nrr);
  ck_assert_int_eq(a->su, b->su);
  ck_assert_str_eq(a->cid, b->cid);
  ck_assert(a->pr == b->pr);
  ck_assert_str_eq(a->sf, b->sf);
  ck_assert_str_eq(a->sid, b->sid);
  ck_assert_str_eq(a->st, b->st);
  ck_assert_int_eq(a->v, b->v);
  ck_assert_int_eq(a->bs, b->bs);
  ck_assert_int_eq(a->rtp, b->rtp);
}

/* ---- the official vector --------------------------------------------------- */

START_TEST(vector_format)
{
  stream_cmcd c = vector_input(1);
  char *s = fmt(&c, STREAM_CMCD_PAYLOAD);
  ck_assert_str_eq(s, VECTOR);
  stream_free(s);
  s = fmt(&c, STREAM_CMCD_QUERY);
  ck_assert_str_eq(s, VECTOR_QUERY);
  stream_free(s);
  stream_cmcd v1 = vector_input(0);
  s = fmt(&v1, STREAM_CMCD_HEADERS);
  ck_assert_str_eq(s, VECTOR_HEADERS);
  stream_free(s);
}
END_TEST

START_TEST(vector_parse)
{
  stream_cmcd c = parsed(VECTOR);
  /* The input after the rounding rules: d 324.69 -> 325, mtp 10049 -> 10000; v and pr (1)
   * and su (false) were not sent. */
  stream_cmcd want = vector_input(0);
  want.d = 325;
  want.mtp = 10000;
  want.v = -1;
  want.pr = -1;
  assert_same_v1(&c, &want);
  ck_assert_uint_eq(c.n_extra, 6);
  const struct {
    const char *key;
    int type;
    const char *value;
  } x[] = {{"pb", STREAM_CMCD_INTEGER, "1000"},
           {"com.example-hello", STREAM_CMCD_STRING, "world"},
           {"com.example-testing", STREAM_CMCD_INTEGER, "1234"},
           {"com.example-exists", STREAM_CMCD_BOOLEAN, ""},
           {"com.example-token", STREAM_CMCD_TOKEN, "s"},
           {"com.example-quote", STREAM_CMCD_STRING, "\"Quote\""}};
  for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
    const stream_cmcd_extra *e = find_extra(&c, x[i].key);
    ck_assert_msg(e != NULL, "extra key %s missing", x[i].key);
    ck_assert_int_eq(e->type, x[i].type);
    ck_assert_str_eq(e->value, x[i].value);
  }
  /* ... and formats back to the same bytes. */
  char *s = fmt(&c, STREAM_CMCD_PAYLOAD);
  ck_assert_str_eq(s, VECTOR);
  stream_free(s);
}
END_TEST

START_TEST(vector_query_parse)
{
  stream_cmcd c;
  stream_cmcd_init(&c);
  char q[1024];
  snprintf(q, sizeof q, "a=1&%s&b", VECTOR_QUERY);
  ck_assert_int_eq(stream_cmcd_parse_query(&c, q), STREAM_OK);
  stream_cmcd p = parsed(VECTOR);
  assert_same_v1(&c, &p);
  ck_assert_uint_eq(c.n_extra, 6);
}
END_TEST

/* The four header shards parsed into one struct give the single payload's keys. */
START_TEST(vector_headers_parse)
{
  stream_cmcd c;
  stream_cmcd_init(&c);
  const char *shards[] = {"br=200,d=325,ot=m",
                          "mtp=10000,nor=\"..%2Ftesting%2F3.m4v\",nrr=\"0-99\"",
                          "cid=\"content-id\",sid=\"session-id\"", "bs"};
  for (size_t i = 0; i < 4; i++)
    ck_assert_int_eq(stream_cmcd_parse(&c, shards[i], strlen(shards[i])), STREAM_OK);
  stream_cmcd want = parsed(VECTOR);
  assert_same_v1(&c, &want);
  ck_assert_uint_eq(c.n_extra, 0);
  /* A key in two shards is refused, and the struct keeps its values. */
  stream_cmcd before = c;
  ck_assert_int_eq(stream_cmcd_parse(&c, "br=300", 6), STREAM_EPROTO);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "'br'"));
  assert_same_v1(&c, &before);
}
END_TEST

START_TEST(body_example)
{
  stream_cmcd c = parsed(BODY);
  ck_assert_int_eq(c.bl, 11200);
  ck_assert_int_eq(c.br, 67);
  ck_assert(c.d == 4011);
  ck_assert_int_eq(c.dl, 11200);
  ck_assert_int_eq(c.mtp, 42900);
  ck_assert_str_eq(c.nor, "bbb_a64k_5.m4a");
  ck_assert_str_eq(c.ot, "a");
  ck_assert_int_eq(c.rtp, 200);
  ck_assert_str_eq(c.sf, "d");
  ck_assert_str_eq(c.sid, "31b090a2-def1-44f9-87f8-4f8213c7bf63");
  ck_assert_str_eq(c.st, "v");
  ck_assert_int_eq(c.tb, 67);
  ck_assert_int_eq(c.su, 0);
  ck_assert_int_eq(c.bs, 0);
  ck_assert_int_eq(c.v, -1);
  char *s = fmt(&c, STREAM_CMCD_PAYLOAD);
  ck_assert_str_eq(s, BODY);
  stream_free(s);
  s = fmt(&c, STREAM_CMCD_HEADERS);
  ck_assert_str_eq(s, "CMCD-Object: br=67,d=4011,ot=a,tb=67\n"
                      "CMCD-Request: bl=11200,dl=11200,mtp=42900,nor=\"bbb_a64k_5.m4a\"\n"
                      "CMCD-Session: sf=d,sid=\"31b090a2-def1-44f9-87f8-4f8213c7bf63\",st=v\n"
                      "CMCD-Status: rtp=200");
  stream_free(s);
}
END_TEST

/* ---- rounding and omission ------------------------------------------------- */

START_TEST(rounding)
{
  stream_cmcd c;
  stream_cmcd_init(&c);
  c.bl = 11249;
  c.dl = 11250;
  c.mtp = 10049;
  c.rtp = 49;
  c.d = 0.5;
  c.br = 3001; /* not rounded */
  c.tb = 0;
  char *s = fmt(&c, STREAM_CMCD_PAYLOAD);
  ck_assert_str_eq(s, "bl=11200,br=3001,d=1,dl=11300,mtp=10000,rtp=0,tb=0");
  stream_free(s);

  stream_cmcd_init(&c);
  c.pr = 1.5;
  c.v = 2;
  s = fmt(&c, STREAM_CMCD_PAYLOAD);
  ck_assert_str_eq(s, "pr=1.5,v=2");
  stream_free(s);
  c.pr = 2;
  c.v = 1;
  s = fmt(&c, STREAM_CMCD_PAYLOAD);
  ck_assert_str_eq(s, "pr=2.0");
  stream_free(s);
  c.pr = 0;
  s = fmt(&c, STREAM_CMCD_PAYLOAD);
  ck_assert_str_eq(s, "pr=0.0");
  stream_free(s);
  c.pr = 1; /* real time: not sent */
  c.su = 0;
  c.bs = 0;
  s = fmt(&c, STREAM_CMCD_PAYLOAD);
  ck_assert_str_eq(s, "");
  stream_free(s);
  s = fmt(&c, STREAM_CMCD_QUERY);
  ck_assert_str_eq(s, "");
  stream_free(s);
  s = fmt(&c, STREAM_CMCD_HEADERS);
  ck_assert_str_eq(s, "");
  stream_free(s);
}
END_TEST

/* The largest integers the parser takes (15 digits) format, and back: those that would round
 * half up to 10^15 (16 digits, which no RFC 8941 parser takes) go down to the multiple below. */
START_TEST(rounding_top)
{
  static const char in[] =
      "bl=999999999999999,dl=999999999999950,mtp=999999999999949,rtp=999999999999900";
  stream_cmcd c;
  stream_cmcd_init(&c);
  ck_assert_int_eq(stream_cmcd_parse(&c, in, strlen(in)), STREAM_OK);
  char *s = NULL;
  ck_assert_msg(stream_cmcd_format(&s, &c, STREAM_CMCD_PAYLOAD) == STREAM_OK, "%s",
                stream_error_last()->message);
  ck_assert_str_eq(s, "bl=999999999999900,dl=999999999999900,mtp=999999999999900,"
                      "rtp=999999999999900");
  stream_cmcd back;
  stream_cmcd_init(&back);
  ck_assert_int_eq(stream_cmcd_parse(&back, s, strlen(s)), STREAM_OK);
  ck_assert(back.bl == 999999999999900LL && back.rtp == 999999999999900LL);
  stream_free(s);
  /* pr as an integer: 12 digits format as a decimal (13 are refused: malformed). */
  stream_cmcd_init(&c);
  ck_assert_int_eq(stream_cmcd_parse(&c, "pr=999999999999", 15), STREAM_OK);
  ck_assert_int_eq(stream_cmcd_format(&s, &c, STREAM_CMCD_PAYLOAD), STREAM_OK);
  ck_assert_str_eq(s, "pr=999999999999.0");
  stream_free(s);
}
END_TEST

START_TEST(parse_forms)
{
  /* OWS around commas, leading and trailing spaces, ?1 / ?0 booleans, decimals for pr. */
  stream_cmcd c = parsed("  br=1 ,\tbs=?1, su=?0,pr=1.25 ,ot=av,st=ll,sf=h  ");
  ck_assert_int_eq(c.br, 1);
  ck_assert_int_eq(c.bs, 1);
  ck_assert_int_eq(c.su, 0);
  ck_assert(c.pr == 1.25);
  ck_assert_str_eq(c.ot, "av");
  ck_assert_str_eq(c.st, "ll");
  ck_assert_str_eq(c.sf, "h");
  c = parsed("pr=2");
  ck_assert(c.pr == 2);
  c = parsed("");
  ck_assert_int_eq(c.br, -1);
  c = parsed("sid=\"\"");
  ck_assert_str_eq(c.sid, ""); /* an empty string counts as absent */
  c = parsed("nrr=\"-500\",nor=\"a%20b%C3%A9\"");
  ck_assert_str_eq(c.nrr, "-500");
  ck_assert_str_eq(c.nor, "a b\xc3\xa9");
  /* Strings of exactly 64 characters are accepted. */
  char p[128];
  snprintf(p, sizeof p, "sid=\"%064d\"", 7);
  c = parsed(p);
  ck_assert_uint_eq(strlen(c.sid), 64);
  /* Escapes come back unescaped and go out escaped again. */
  c = parsed("cid=\"a\\\"b\\\\c\"");
  ck_assert_str_eq(c.cid, "a\"b\\c");
  char *s = fmt(&c, STREAM_CMCD_PAYLOAD);
  ck_assert_str_eq(s, "cid=\"a\\\"b\\\\c\"");
  stream_free(s);
}
END_TEST

/* ---- malformed payloads ---------------------------------------------------- */

static const struct {
  const char *payload;
  const char *in_message; /* the key and offset the message must name */
} bad_payloads[] = {
    {"br=x", "offset 0 (key 'br')"},
    {"bl=-1", "key 'bl'"},
    {"d=1.5", "key 'd'"},
    {"sid=\"unterminated", "key 'sid'"},
    {"ot=zz", "key 'ot'"},
    {"sf=x", "key 'sf'"},
    {"su=1", "key 'su'"},
    {"bs=\"y\"", "key 'bs'"},
    {"sid=tok", "key 'sid'"},
    {"br=1;a=2", "offset 4 (key 'br')"},
    {"br=(1 2)", "key 'br'"},
    {"br=1,,bs", "offset 5"},
    {"br=1,", "offset 5"},
    {",br=1", "offset 0"},
    {"Br=1", "offset 0"},
    {"br=1 bs", "offset 5"},
    {"sid=\"a\\x\"", "key 'sid'"},
    {"br=1,br=2", "offset 5 (key 'br')"},
    {"nor=\"%zz\"", "key 'nor'"},
    {"nor=\"%00\"", "key 'nor'"},
    {"nor=\"%ff\"", "key 'nor'"},
    {"nrr=\"5-1\"", "key 'nrr'"},
    {"nrr=\"a-b\"", "key 'nrr'"},
    {"br=1234567890123456", "key 'br'"},
    {"pr=1.2345", "key 'pr'"},
    {"pr=1.", "key 'pr'"},
    {"pr=-1.0", "key 'pr'"},
    {"pr=1000000000000", "key 'pr'"}, /* an integer over the 12 digits of a decimal */
    {"br=:aGk=:", "key 'br'"},
    {"su=?2", "key 'su'"},
    {"sid=\"a\x01\"", "key 'sid'"},
    {"sid=\"\xc3\xa9\"", "key 'sid'"},
    {"br=", "key 'br'"},
    {"br=-", "key 'br'"},
    {"com.example-x=\"a\",com.example-x=1", "key 'com.example-x'"},
    {"com.example-x=:aGk=:", "key 'com.example-x'"},
    {"br=1\n", "offset 4"},
};

START_TEST(malformed)
{
  const char *payload = bad_payloads[_i].payload;
  stream_cmcd c = parsed("mtp=100,sid=\"keep\"");
  stream_cmcd before = c;
  int rc = stream_cmcd_parse(&c, payload, strlen(payload));
  ck_assert_msg(rc == STREAM_EPROTO, "'%s' gave %d", payload, rc);
  const char *msg = stream_error_last()->message;
  ck_assert_msg(strstr(msg, bad_payloads[_i].in_message) != NULL, "'%s': message '%s'", payload,
                msg);
  assert_same_v1(&c, &before);
  ck_assert_uint_eq(c.n_extra, 0);
}
END_TEST

START_TEST(malformed_lengths)
{
  stream_cmcd c;
  stream_cmcd_init(&c);
  char p[8192];
  /* a string of 65 characters */
  snprintf(p, sizeof p, "sid=\"%065d\"", 7);
  ck_assert_int_eq(stream_cmcd_parse(&c, p, strlen(p)), STREAM_EPROTO);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "'sid'"));
  snprintf(p, sizeof p, "com.example-a=\"%065d\"", 7);
  ck_assert_int_eq(stream_cmcd_parse(&c, p, strlen(p)), STREAM_EPROTO);
  /* a payload over 4 KiB, even if well formed */
  size_t n = 0;
  for (int i = 0; n < STREAM_CMCD_PAYLOAD_MAX; i++)
    n += (size_t)snprintf(p + n, sizeof p - n, "%scom.example-k%d=1", i ? "," : "", i);
  ck_assert_int_eq(stream_cmcd_parse(&c, p, n), STREAM_EPROTO);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "4096"));
  /* a key of 65 characters */
  memset(p, 'a', 65);
  ck_assert_int_eq(stream_cmcd_parse(&c, p, 65), STREAM_EPROTO);
  /* nor of 257 decoded bytes */
  n = (size_t)snprintf(p, sizeof p, "nor=\"");
  memset(p + n, 'x', 257);
  n += 257;
  p[n++] = '"';
  ck_assert_int_eq(stream_cmcd_parse(&c, p, n), STREAM_EPROTO);
  /* an embedded NUL is not a space or a key */
  ck_assert_int_eq(stream_cmcd_parse(&c, "br=1\0,bs", 8), STREAM_EPROTO);
  ck_assert_int_eq(c.br, -1);
}
END_TEST

START_TEST(query)
{
  stream_cmcd c;
  stream_cmcd_init(&c);
  ck_assert_int_eq(stream_cmcd_parse_query(&c, "CMCD=br%3D200%2Cot%3Dv%2Csid%3D%22s%201%22"),
                   STREAM_OK);
  ck_assert_int_eq(c.br, 200);
  ck_assert_str_eq(c.ot, "v");
  ck_assert_str_eq(c.sid, "s 1");
  stream_cmcd_init(&c);
  ck_assert_int_eq(stream_cmcd_parse_query(&c, "x=1&CMCDX=br%3D1"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_cmcd_parse_query(&c, ""), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_cmcd_parse_query(&c, "CMCD=br%3D1&CMCD=bs"), STREAM_EPROTO);
  ck_assert_int_eq(stream_cmcd_parse_query(&c, "CMCD=br%3"), STREAM_EPROTO);
  ck_assert_int_eq(stream_cmcd_parse_query(&c, "CMCD=br%3Dx"), STREAM_EPROTO);
  ck_assert_int_eq(stream_cmcd_parse_query(&c, "cmcd=br%3D1"), STREAM_ENOTFOUND);
  ck_assert_int_eq(c.br, -1);
  /* an empty CMCD argument is an empty payload */
  ck_assert_int_eq(stream_cmcd_parse_query(&c, "CMCD="), STREAM_OK);
  ck_assert_int_eq(stream_cmcd_parse_query(&c, "a&CMCD"), STREAM_OK);
}
END_TEST

/* The query form is encodeURIComponent of the payload: A-Z a-z 0-9 - _ . ! ~ * ' ( ) stay. */
START_TEST(query_encoding)
{
  stream_cmcd c;
  stream_cmcd_init(&c);
  snprintf(c.cid, sizeof c.cid, "it's (A-z_0.9!~*) +/?#&=%%");
  char *s = fmt(&c, STREAM_CMCD_QUERY);
  ck_assert_str_eq(s, "CMCD=cid%3D%22it's%20(A-z_0.9!~*)%20%2B%2F%3F%23%26%3D%25%22");
  stream_free(s);
}
END_TEST

/* ---- extra keys ------------------------------------------------------------- */

START_TEST(extras_kept_and_counted)
{
  char p[1024];
  size_t n = 0;
  for (int i = 0; i < 10; i++)
    n += (size_t)snprintf(p + n, sizeof p - n, "%scom.example-k%d=%d", i ? "," : "", i, i);
  n += (size_t)snprintf(p + n, sizeof p - n, ",com.example-f=?0");
  stream_cmcd c = parsed(p);
  ck_assert_uint_eq(c.n_extra, 10); /* a false boolean is absent */
  ck_assert_str_eq(c.extra[0].key, "com.example-k0");
  ck_assert_str_eq(c.extra[7].key, "com.example-k7");
  ck_assert_str_eq(c.extra[7].value, "7");
  /* the first STREAM_CMCD_EXTRA_MAX are written back */
  char *s = fmt(&c, STREAM_CMCD_PAYLOAD);
  ck_assert_ptr_nonnull(strstr(s, "com.example-k7=7"));
  ck_assert_ptr_null(strstr(s, "com.example-k8"));
  stream_free(s);
  /* extras go to CMCD-Request in header mode */
  stream_cmcd d;
  stream_cmcd_init(&d);
  add_extra(&d, "com.example-dec", STREAM_CMCD_DECIMAL, "-1.5");
  d.bs = 1;
  s = fmt(&d, STREAM_CMCD_HEADERS);
  ck_assert_str_eq(s, "CMCD-Request: com.example-dec=-1.5\nCMCD-Status: bs");
  stream_free(s);
}
END_TEST

/* ---- round trip --------------------------------------------------------------- */

START_TEST(round_trip)
{
  stream_cmcd c;
  stream_cmcd_init(&c);
  c.br = 5000;
  c.d = 4004;
  snprintf(c.ot, sizeof c.ot, "v");
  c.tb = 8000;
  c.bl = 21300;
  c.dl = 900;
  c.mtp = 25400;
  snprintf(c.nor, sizeof c.nor, "seg 2?x=\"1\"&y=é");
  snprintf(c.nrr, sizeof c.nrr, "100-200");
  c.su = 1;
  snprintf(c.cid, sizeof c.cid, "title \"7\" \\");
  c.pr = 0.5;
  snprintf(c.sf, sizeof c.sf, "h");
  snprintf(c.sid, sizeof c.sid, "6e2fb550-c457-11e9-bb97-0800200c9a66");
  snprintf(c.st, sizeof c.st, "v");
  c.v = 3;
  c.bs = 1;
  c.rtp = 12000;
  add_extra(&c, "com.example-t", STREAM_CMCD_TOKEN, "a:b/c");
  for (int mode = STREAM_CMCD_PAYLOAD; mode <= STREAM_CMCD_HEADERS; mode++) {
    char *s = fmt(&c, mode);
    stream_cmcd back;
    stream_cmcd_init(&back);
    if (mode == STREAM_CMCD_PAYLOAD) {
      ck_assert_int_eq(stream_cmcd_parse(&back, s, strlen(s)), STREAM_OK);
    } else if (mode == STREAM_CMCD_QUERY) {
      ck_assert_int_eq(stream_cmcd_parse_query(&back, s), STREAM_OK);
    } else {
      for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        char *v = strstr(line, ": ") + 2;
        ck_assert_int_eq(stream_cmcd_parse(&back, v, strlen(v)), STREAM_OK);
      }
    }
    assert_same_v1(&back, &c);
    ck_assert_uint_eq(back.n_extra, 1);
    ck_assert_str_eq(back.extra[0].value, "a:b/c");
    stream_free(s);
  }
}
END_TEST

/* ---- argument checks ------------------------------------------------------------ */

START_TEST(arguments)
{
  stream_cmcd c;
  char *s = (char *)1;
  ck_assert_int_eq(stream_cmcd_init(NULL), STREAM_EINVAL);
  stream_cmcd_init(&c);
  ck_assert_int_eq(stream_cmcd_parse(NULL, "br=1", 4), STREAM_EINVAL);
  ck_assert_int_eq(stream_cmcd_parse(&c, NULL, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_cmcd_parse_query(NULL, "CMCD="), STREAM_EINVAL);
  ck_assert_int_eq(stream_cmcd_parse_query(&c, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_cmcd_format(NULL, &c, STREAM_CMCD_PAYLOAD), STREAM_EINVAL);
  ck_assert_int_eq(stream_cmcd_format(&s, NULL, STREAM_CMCD_PAYLOAD), STREAM_EINVAL);
  ck_assert_ptr_null(s);
  ck_assert_int_eq(stream_cmcd_format(&s, &c, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_cmcd_format(&s, &c, 4), STREAM_EINVAL);
  /* a struct not set up by stream_cmcd_init */
  stream_cmcd z;
  memset(&z, 0, sizeof z);
  ck_assert_int_eq(stream_cmcd_parse(&z, "br=1", 4), STREAM_EINVAL);
  ck_assert_int_eq(stream_cmcd_format(&s, &z, STREAM_CMCD_PAYLOAD), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "stream_cmcd_init"));
}
END_TEST

static const char *format_bad(stream_cmcd *c, int which)
{
  switch (which) {
  case 0:
    snprintf(c->ot, sizeof c->ot, "x");
    return "ot";
  case 1:
    c->bl = -5;
    return "bl";
  case 2:
    c->d = NAN;
    return "d";
  case 3:
    c->pr = -0.5;
    return "pr";
  case 4:
    c->sid[0] = '\x01';
    c->sid[1] = '\0';
    return "sid";
  case 5:
    snprintf(c->nrr, sizeof c->nrr, "9-1");
    return "nrr";
  case 6:
    c->su = 2;
    return "su";
  case 7:
    add_extra(c, "br", STREAM_CMCD_INTEGER, "1");
    return "'br'";
  case 8:
    add_extra(c, "Bad", STREAM_CMCD_INTEGER, "1");
    return "extra key 0";
  case 9:
    add_extra(c, "com.x-a", STREAM_CMCD_INTEGER, "1x");
    return "'com.x-a'";
  case 10:
    add_extra(c, "com.x-a", STREAM_CMCD_TOKEN, "1x");
    return "'com.x-a'";
  case 11:
    add_extra(c, "com.x-a", 9, "1");
    return "'com.x-a'";
  case 12:
    add_extra(c, "com.x-a", STREAM_CMCD_BOOLEAN, "");
    add_extra(c, "com.x-a", STREAM_CMCD_BOOLEAN, "");
    return "twice";
  case 13:
    c->br = 1000000000000000LL;
    return "br";
  case 14:
    c->nor[0] = '\n';
    c->nor[1] = '\0';
    return "nor";
  default:
    memset(c->cid, 'a', sizeof c->cid);
    return "cid";
  }
}

START_TEST(format_invalid)
{
  stream_cmcd c;
  stream_cmcd_init(&c);
  const char *name = format_bad(&c, _i);
  char *s = (char *)1;
  int rc = stream_cmcd_format(&s, &c, STREAM_CMCD_PAYLOAD);
  ck_assert_msg(rc == STREAM_EINVAL, "case %d gave %d", _i, rc);
  ck_assert_ptr_null(s);
  ck_assert_msg(strstr(stream_error_last()->message, name) != NULL, "case %d: '%s'", _i,
                stream_error_last()->message);
}
END_TEST

START_TEST(format_too_long)
{
  stream_cmcd c;
  stream_cmcd_init(&c);
  for (int i = 0; i < STREAM_CMCD_EXTRA_MAX; i++) {
    char k[65], v[65];
    snprintf(k, sizeof k, "com.example-%052d", i);
    memset(v, 'v', 64);
    v[64] = '\0';
    add_extra(&c, k, STREAM_CMCD_STRING, v);
  }
  memset(c.nor, '/', STREAM_CMCD_NOR_MAX); /* 3 bytes each, URL-encoded */
  c.nor[STREAM_CMCD_NOR_MAX] = '\0';
  char *s = NULL;
  ck_assert_int_eq(stream_cmcd_format(&s, &c, STREAM_CMCD_PAYLOAD), STREAM_OK);
  size_t n = strlen(s);
  stream_free(s);
  ck_assert_uint_le(n, STREAM_CMCD_PAYLOAD_MAX);
  /* Every key at its longest (strings of quotes, each escaped to two bytes) still fits:
   * the payload cap cannot be reached by a valid struct. */
  memset(c.sid, '"', 64);
  memset(c.cid, '\\', 64);
  snprintf(c.nrr, sizeof c.nrr, "%015d-%015d", 1, 2);
  for (int i = 0; i < STREAM_CMCD_EXTRA_MAX; i++)
    memset(c.extra[i].value, '"', 64);
  c.br = c.tb = c.bl = c.dl = c.mtp = c.rtp = c.v = 999999999999949LL;
  c.d = 999999999999999;
  c.pr = 999999999999.25;
  c.su = c.bs = 1;
  snprintf(c.ot, sizeof c.ot, "tt");
  snprintf(c.st, sizeof c.st, "ll");
  snprintf(c.sf, sizeof c.sf, "h");
  ck_assert_int_eq(stream_cmcd_format(&s, &c, STREAM_CMCD_PAYLOAD), STREAM_OK);
  ck_assert_uint_le(strlen(s), STREAM_CMCD_PAYLOAD_MAX);
  stream_free(s);
}
END_TEST

static Suite *cmcd_suite(void)
{
  Suite *s = suite_create("cmcd");
  TCase *tc = tcase_create("cmcd");
  tcase_add_test(tc, vector_format);
  tcase_add_test(tc, vector_parse);
  tcase_add_test(tc, vector_query_parse);
  tcase_add_test(tc, vector_headers_parse);
  tcase_add_test(tc, body_example);
  tcase_add_test(tc, rounding);
  tcase_add_test(tc, rounding_top);
  tcase_add_test(tc, parse_forms);
  tcase_add_loop_test(tc, malformed, 0, (int)(sizeof bad_payloads / sizeof bad_payloads[0]));
  tcase_add_test(tc, malformed_lengths);
  tcase_add_test(tc, query);
  tcase_add_test(tc, query_encoding);
  tcase_add_test(tc, extras_kept_and_counted);
  tcase_add_test(tc, round_trip);
  tcase_add_test(tc, arguments);
  tcase_add_loop_test(tc, format_invalid, 0, 16);
  tcase_add_test(tc, format_too_long);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(cmcd_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
