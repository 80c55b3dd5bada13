/* no_symbol.c - a shared object without the vigil_plugin symbol. */
#include <vigil/detector.h>

VIGIL_EXPORT int not_a_vigil_plugin(void);

int not_a_vigil_plugin(void)
{
	return 1;
}
