/*
 * plugin-host.c - vigil-plugin-host, the worker program of plugin isolation:
 * loads one plugin file and scores the series the runner sends it (see
 * isolate.h).  Not meant to be run by hand.
 */
#include "isolate.h"
#include "log.h"
#include "banned.h"

int main(int argc, char **argv)
{
	return isolate_worker_main(argc, argv);
}
