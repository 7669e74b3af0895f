/* Test fixtures for the C interface, compiled three times by build.rs: plugins the host
 * must refuse, WRONG_MAJOR (built against a future interface 2.0) and TRUNCATED (a
 * descriptor that claims to be shorter than version 1.0's); and CRASH, a valid plugin whose
 * analyze writes through a null pointer (worker mode must survive it).
 */
#include "imprint_analyzer.h"

static int32_t analyze(const ImprintScan *scan, const ImprintHost *host, char *error,
                       size_t error_capacity) {
    (void)scan;
    (void)host;
    (void)error;
    (void)error_capacity;
#if defined(CRASH)
    *(volatile int *)0 = 1;
#endif
    return 0;
}

static const ImprintDescriptor DESCRIPTOR = {
#if defined(TRUNCATED)
    sizeof(size_t),
#else
    sizeof(ImprintDescriptor),
#endif
#if defined(WRONG_MAJOR)
    IMPRINT_C_ABI_MAJOR + 1,
#else
    IMPRINT_C_ABI_MAJOR,
#endif
    IMPRINT_C_ABI_MINOR,
    "{\"id\":\"c-bad\",\"name\":\"refused\",\"version\":\"0\",\"kinds\":[],\"needs\":[]}",
    analyze,
};

const ImprintDescriptor *imprint_c_analyzer(void) { return &DESCRIPTOR; }
