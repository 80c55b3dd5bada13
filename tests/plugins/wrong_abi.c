/* wrong_abi.c - a plugin built for a future ABI major: must be refused. */
#include <vigil/detector.h>

static int init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	(void)h;
	(void)ctx;
	return 0;
}

VIGIL_EXPORT const struct vigil_plugin vigil_plugin = {
	.abi_version = ((uint32_t)(VIGIL_ABI_MAJOR + 1) << 16),
	.struct_size = sizeof(struct vigil_plugin),
	.name = "wrong-abi",
	.version = "0",
	.init = init,
};
