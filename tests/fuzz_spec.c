/*
 * fuzz_spec.c - fuzzing the job spec parser and validator (spec_parse) with
 * the plugins of VIGIL_PLUGIN_PATH.  Every input is accepted or refused
 * with at least one message; an accepted spec has a name and detectors.
 */
#include <stdint.h>

#include "diag.h"
#include "plugin.h"
#include "spec.h"
#include "fuzzutil.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct registry *reg;
	struct job_spec *spec;
	struct diag d;
	char *text;

	if (size > 65536)
		return 0;
	if (!reg) {
		reg = registry_new();
		registry_add_default(reg, NULL, 0);
	}
	text = fuzz_text(data, size);
	diag_init(&d, "fuzz.json");
	spec = spec_parse(text, "/nonexistent", reg, &d);
	if (spec) {
		if (d.n || !spec->name || !spec->n_detectors) {
			fprintf(stderr, "accepted spec with %zu messages, name %s\n", d.n, spec->name ? spec->name : "-");
			abort();
		}
		spec_free(spec);
	} else {
		if (!d.n)
			abort();
		for (size_t i = 0; i < d.n; i++)
			fuzz_check_message(d.msgs[i], "spec_parse");
	}
	diag_release(&d);
	free(text);
	return 0;
}
