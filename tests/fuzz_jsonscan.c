/*
 * fuzz_jsonscan.c - fuzzing the pull JSON scanner (runner/jsonscan.h) the
 * sources read answers with: walk every value of the input; a failure must
 * have a message.  Numbers it reads go through json_parse_double and
 * json_decimal_to_ms.  (No comparison with jansson: the two differ on
 * purpose, e.g. 1e400 is +inf here and an overflow error there.)
 */
#include <stdint.h>

#include "jsonscan.h"
#include "fuzzutil.h"
#include "banned.h"

static int walk(struct jscan *s, int depth)
{
	const char *str;
	size_t len;
	double v;
	int64_t ms;
	int r;

	if (depth > 64)
		return jscan_skip(s);
	switch (jscan_peek(s)) {
	case JT_OBJECT:
		if (jscan_object(s))
			return -1;
		while ((r = jscan_key(s, &str, &len)) > 0)
			if (walk(s, depth + 1))
				return -1;
		return r;
	case JT_ARRAY:
		if (jscan_array(s))
			return -1;
		while ((r = jscan_next(s)) > 0)
			if (walk(s, depth + 1))
				return -1;
		return r;
	case JT_STRING:
		return jscan_string(s, &str, &len);
	case JT_NUMBER:
		if (jscan_number_text(s, &str, &len))
			return -1;
		json_parse_double(str, len, &v);
		json_decimal_to_ms(str, len, 1000, &ms);
		return 0;
	case JT_NULL:
		return jscan_null(s);
	case JT_TRUE:
	case JT_FALSE:
		return jscan_skip(s);
	default:
		return jscan_fail(s, "no value");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jscan s;
	int ok;

	if (size > 1 << 20)
		return 0;
	jscan_init(&s, (const char *)data, size);
	ok = walk(&s, 0) == 0 && jscan_finish(&s) == 0;
	if (!ok)
		fuzz_check_message(s.msg, "jsonscan");
	jscan_release(&s);
	return 0;
}
