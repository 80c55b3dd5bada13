/*
 * fuzz_api_request.c - fuzzing the API's strict request parsing
 * (runner/api-request.h).  Byte 0 picks the function: the raw request
 * target check, the integer parser, or the bearer comparison.  Checks: an
 * accepted target has no control character once decoded (checked here on
 * the raw bytes) and a refused one has a message; a parsed integer prints
 * back as its text.
 */
#include <inttypes.h>
#include <stdint.h>

#include "api-request.h"
#include "fuzzutil.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[200] = "", *text;
	long long v;

	if (size < 1 || size > 65536)
		return 0;
	text = fuzz_text(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		if (api_target_check(text, size - 1, msg, sizeof(msg))) {
			fuzz_check_message(msg, "api_target_check");
		} else {
			for (size_t i = 0; i < size - 1; i++)
				if (text[i] < 0x20 && text[i] >= 0)
					abort();
		}
		break;
	case 1:
		if (!api_parse_int(text, INT64_MIN, INT64_MAX, &v)) {
			char back[32];

			snprintf(back, sizeof(back), "%lld", v);
			/* "-0" and leading zeros are the only other spellings accepted */
			if (strcmp(back, text) && strtoll(text, NULL, 10) != v)
				abort();
		}
		break;
	default:
		if (api_bearer_matches(text, size - 1, "tok-123") &&
		    (size - 1 != 14 || strncmp(text + 7, "tok-123", 7)))
			abort();
		break;
	}
	free(text);
	return 0;
}
