/*
 * fuzz_exec_proto.c - fuzzing the decoder of external detectors' answers
 * (exec protocol, docs/exec-protocol.md).  Byte 0 picks the series length
 * and the answer kind (detect or describe); the rest is the line.  Every
 * refusal has a message; a describe answer is an array.
 */
#include <jansson.h>
#include <stdint.h>

#include "detect.h"
#include "exec-proto.h"
#include "fuzzutil.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	size_t n;

	if (size < 1 || size > 1 << 20)
		return 0;
	n = data[0] & 0x7f;
	if (data[0] & 0x80) {
		int explains = 0;
		json_t *dets = exec_proto_describe_response((const char *)data + 1, size - 1, 1, &explains, &err);

		if (dets) {
			if (!json_is_array(dets))
				abort();
			json_decref(dets);
		} else {
			fuzz_check_message(err.msg, "describe response");
		}
		return 0;
	}
	{
		struct detection det;

		detection_init(&det, n);
		/* scores are clamped later, by the detector contract (detect.c), not here */
		if (exec_proto_detect_response((const char *)data + 1, size - 1, 7, n, 0, &det, &err))
			fuzz_check_message(err.msg, "detect response");
		detection_release(&det);
	}
	return 0;
}
