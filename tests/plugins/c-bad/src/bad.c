/* Test fixtures for the C interface: plugins the host must refuse. Compiled twice by
 * build.rs: with WRONG_MAJOR (built against a future interface 2.0) and with TRUNCATED (a
 * descriptor that claims to be shorter than version 1.0's).
 */
#include "imprint_analyzer.h"

static int32_t analyze(const ImprintScan *scan, const ImprintHost *host, char *error,
                       size_t error_capacity) {
    (void)scan;
    (void)host;
    (void)error;
    (void)error_capacity;
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
