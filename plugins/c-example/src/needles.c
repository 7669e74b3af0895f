/* c-needles: the worked example of an Imprint analyzer written in C.
 *
 * Finds "needle" triangles: long and thin (the longest edge many times the height over
 * it), which a scanner leaves where it stretched the surface over what it could not see.
 * Nearby needles are gathered into one finding, snapped onto the surface with the host's
 * closest-point query, named by the tooth the host's map puts there, and handed to the
 * host's sink. Build: cc -shared -fPIC -O2 -I core/include needles.c -o
 * libimprint_plugin_c_needles.so -lm (the workspace's build.rs does this).
 */
#include "imprint_analyzer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MANIFEST[] =
    "{\"id\":\"c-needles\",\"name\":\"Needle triangles (C example)\",\"version\":\"0.1.0\","
    "\"kinds\":[\"mesh_defect\"],\"needs\":[\"vertex_normals\",\"tooth_map\",\"bvh\"],"
    "\"parameters\":[{\"name\":\"max_aspect\",\"default\":12.0,\"description\":"
    "\"A triangle whose longest edge is this many times its height over that edge is a "
    "needle.\"},{\"name\":\"min_triangles\",\"default\":3.0,\"description\":"
    "\"Fewest needles gathered into one finding.\"}]}";

#define MAX_CLUSTERS 64
#define JOIN_MM 1.0f

typedef struct {
    float sum[3];
    float lo[3], hi[3];
    unsigned count;
    unsigned first_vertex;
} Cluster;

/* A number parameter from the host's JSON object, or `fallback`. */
static double param(const char *json, const char *name, double fallback) {
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *at = json ? strstr(json, key) : NULL;
    return at ? strtod(at + strlen(key), NULL) : fallback;
}

static const float *vertex(const ImprintScan *scan, uint32_t v) {
    return scan->positions + 3 * (size_t)v;
}

static float dist(const float *a, const float *b) {
    float dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
    return sqrtf(dx * dx + dy * dy + dz * dz);
}

/* Longest edge over the height onto it: 0 for a degenerate triangle. */
static float aspect(const ImprintScan *scan, size_t t) {
    const uint32_t *f = scan->triangles + 3 * t;
    const float *p[3] = {vertex(scan, f[0]), vertex(scan, f[1]), vertex(scan, f[2])};
    float longest = 0.0f, u[3], w[3], c[3];
    for (int k = 0; k < 3; k++) {
        float e = dist(p[k], p[(k + 1) % 3]);
        if (e > longest) longest = e;
        u[k] = p[1][k] - p[0][k];
        w[k] = p[2][k] - p[0][k];
    }
    c[0] = u[1] * w[2] - u[2] * w[1];
    c[1] = u[2] * w[0] - u[0] * w[2];
    c[2] = u[0] * w[1] - u[1] * w[0];
    float twice_area = sqrtf(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]);
    if (twice_area <= 0.0f) return 0.0f;
    return longest * longest / twice_area;
}

/* Adds triangle t's centroid to the nearest cluster within JOIN_MM, or a new one. */
static void gather(Cluster *clusters, unsigned *n, const ImprintScan *scan, size_t t) {
    const uint32_t *f = scan->triangles + 3 * t;
    float c[3];
    for (int k = 0; k < 3; k++)
        c[k] = (vertex(scan, f[0])[k] + vertex(scan, f[1])[k] + vertex(scan, f[2])[k]) / 3.0f;
    for (unsigned i = 0; i < *n; i++) {
        Cluster *k = &clusters[i];
        float centre[3] = {k->sum[0] / k->count, k->sum[1] / k->count, k->sum[2] / k->count};
        if (dist(centre, c) <= JOIN_MM + 0.5f * dist(k->lo, k->hi)) {
            for (int d = 0; d < 3; d++) {
                k->sum[d] += c[d];
                if (c[d] < k->lo[d]) k->lo[d] = c[d];
                if (c[d] > k->hi[d]) k->hi[d] = c[d];
            }
            k->count++;
            return;
        }
    }
    if (*n == MAX_CLUSTERS) return;
    Cluster *k = &clusters[(*n)++];
    for (int d = 0; d < 3; d++) k->sum[d] = k->lo[d] = k->hi[d] = c[d];
    k->count = 1;
    k->first_vertex = f[0];
}

static int report(const Cluster *k, const ImprintScan *scan, const ImprintHost *host,
                  double max_aspect) {
    ImprintFinding f;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.kind = "mesh_defect";
    f.severity = k->count >= 20 ? "major" : "minor";
    for (int d = 0; d < 3; d++) f.center[d] = k->sum[d] / k->count;
    ImprintHit hit;
    if (host->closest_point && host->closest_point(host->context, f.center, 2.0f, &hit))
        memcpy(f.center, hit.point, sizeof f.center);
    f.size_mm = dist(k->lo, k->hi);
    f.tooth = scan->labels ? scan->labels[k->first_vertex] : 0;
    char message[256], metrics[128];
    snprintf(message, sizeof message,
             "%u needle triangles (longer than %.0f times their height): the scanner stretched "
             "the surface here, so detail under it may be missing; check this area before "
             "trusting it",
             k->count, max_aspect);
    snprintf(metrics, sizeof metrics, "{\"triangles\":%u,\"max_aspect\":%.1f}", k->count,
             max_aspect);
    f.message = message;
    f.metrics_json = metrics;
    return host->emit_finding(host->context, &f);
}

static int32_t analyze(const ImprintScan *scan, const ImprintHost *host, char *error,
                       size_t error_capacity) {
    if (!scan || !host || !host->emit_finding || scan->struct_size < sizeof(ImprintScan)) {
        snprintf(error, error_capacity, "the host passed no scan or no findings sink");
        return 1;
    }
    double max_aspect = param(host->params_json, "max_aspect", 12.0);
    double min_triangles = param(host->params_json, "min_triangles", 3.0);
    Cluster clusters[MAX_CLUSTERS];
    unsigned n = 0;
    for (size_t t = 0; t < scan->triangle_count; t++) {
        float a = aspect(scan, t);
        if (a > max_aspect) gather(clusters, &n, scan, t);
    }
    for (unsigned i = 0; i < n; i++) {
        if (clusters[i].count < min_triangles) continue;
        if (report(&clusters[i], scan, host, max_aspect) != 0) {
            snprintf(error, error_capacity, "the host refused finding %u", i);
            return 2;
        }
    }
    return 0;
}

static const ImprintDescriptor DESCRIPTOR = {
    sizeof(ImprintDescriptor), IMPRINT_C_ABI_MAJOR, IMPRINT_C_ABI_MINOR, MANIFEST, analyze,
};

const ImprintDescriptor *imprint_c_analyzer(void) { return &DESCRIPTOR; }
