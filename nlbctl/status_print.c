/* status_print.c - see status_print.h. */
#include "status_print.h"

#include <windows.h>

void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static const char *app_word(const struct wire_node_status *n)
{
    return n->app_healthy ? "healthy" : "unhealthy";
}

/* The local wall-clock time age_ms ago: ages travel on the wire (the
 * services' clocks are monotonic), the time of day is ours to compute. */
static void time_ago(uint64_t age_ms, char *when, size_t size)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    ULARGE_INTEGER at = {.LowPart = ft.dwLowDateTime, .HighPart = ft.dwHighDateTime};
    at.QuadPart -= age_ms * 10000ull;
    FILETIME utc = {at.LowPart, at.HighPart}, local;
    SYSTEMTIME t;
    FileTimeToLocalFileTime(&utc, &local);
    FileTimeToSystemTime(&local, &t);
    snprintf(when, size, "%04u-%02u-%02u %02u:%02u:%02u.%03u", t.wYear, t.wMonth, t.wDay,
             t.wHour, t.wMinute, t.wSecond, t.wMilliseconds);
}

/* "why (at 2026-11-26 20:15:03.120)": the transition and when it happened. */
static void print_change(FILE *out, const char *why, uint32_t age_ms)
{
    fprintf(out, "%s", why[0] ? why : "(none)");
    if (why[0] && age_ms != WIRE_AGE_UNKNOWN) {
        char when[32];
        time_ago(age_ms, when, sizeof when);
        fprintf(out, " (at %s)", when);
    }
}

static void json_age(FILE *out, const char *key, uint32_t age_ms)
{
    if (age_ms == WIRE_AGE_UNKNOWN)
        fprintf(out, ",\"%s\":null", key);
    else
        fprintf(out, ",\"%s\":%lu", key, (unsigned long)age_ms);
}

static void print_age(FILE *out, uint32_t ms)
{
    if (ms == 0xFFFFFFFFu)
        fprintf(out, "never");
    else
        fprintf(out, "%.1f s ago", ms / 1000.0);
}

void status_print_table(FILE *out, const struct wire_status_reply *st)
{
    fprintf(out, "Pair:        %s\n", st->pair);
    fprintf(out, "Answered by: %s\n", model_role_name(st->role));
    fprintf(out, "Primary:     %s\n", st->primary[0] ? st->primary : "(none)");
    fprintf(out, "Epoch:       %llu\n", (unsigned long long)st->epoch);
    if (st->role == MODEL_ROLE_COORDINATOR)
        fprintf(out, "Phase:       %s\n", model_phase_name(st->phase));
    else
        fprintf(out, "Coordinator: %s\n", st->coordinator_link ? "connected" : "not connected");
    fprintf(out, "Last change: ");
    print_change(out, st->last_reason, st->last_reason_age_ms);
    fprintf(out, "\n\n");
    fprintf(out, "%-16s %-6s %-5s %-8s %-10s %-13s %-13s %-6s %s\n", "NODE",
            st->role == MODEL_ROLE_AGENT ? "COORD" : "LINK", "PEER", "MODE", "APP",
            "PORT DESIRED", "PORT ACTUAL", "EPOCH", "LAST HEARD");
    for (unsigned i = 0; i < st->node_count; i++) {
        const struct wire_node_status *n = &st->nodes[i];
        int link = st->role == MODEL_ROLE_AGENT ? st->coordinator_link : n->connected;
        fprintf(out, "%-16s %-6s %-5s %-8s %-10s %-13s %-13s %-6llu ", n->name,
                link ? "up" : "down", n->peer_link ? "up" : "down", model_mode_name(n->mode),
                app_word(n), model_port_name(n->port_desired), model_port_name(n->port_actual),
                (unsigned long long)n->epoch);
        if (st->role == MODEL_ROLE_AGENT)
            fprintf(out, "(this node)");
        else
            print_age(out, n->last_heard_ms);
        fputc('\n', out);
    }
    for (unsigned i = 0; i < st->node_count; i++)
        if (st->nodes[i].sip_probe != MODEL_PROBE_OFF)
            fprintf(out, "  %s: SIP probes %s\n", st->nodes[i].name,
                    model_probe_name(st->nodes[i].sip_probe));
    for (unsigned i = 0; i < st->node_count; i++)
        if (st->nodes[i].last_change[0]) {
            fprintf(out, "  %s: ", st->nodes[i].name);
            print_change(out, st->nodes[i].last_change, st->nodes[i].last_change_age_ms);
            fputc('\n', out);
        }
}

void history_print(FILE *out, const struct wire_history_reply *h, int json)
{
    if (json)
        fprintf(out, "[");
    for (unsigned i = 0; i < h->count; i++) {
        char when[32];
        time_ago(h->entries[i].age_ms, when, sizeof when);
        if (json) {
            fprintf(out, "%s{\"time\":\"%s\",\"age_ms\":%llu,\"change\":", i ? "," : "", when,
                    (unsigned long long)h->entries[i].age_ms);
            json_string(out, h->entries[i].text);
            fprintf(out, "}");
        } else {
            fprintf(out, "%s  %s\n", when, h->entries[i].text);
        }
    }
    if (json)
        fprintf(out, "]\n");
    else if (h->count == 0)
        fprintf(out, "(no transitions yet)\n");
}

void status_print_json(FILE *out, const struct wire_status_reply *st)
{
    fprintf(out, "{\"role\":");
    json_string(out, model_role_name(st->role));
    fprintf(out, ",\"pair\":");
    json_string(out, st->pair);
    fprintf(out, ",\"primary\":");
    if (st->primary[0])
        json_string(out, st->primary);
    else
        fprintf(out, "null");
    fprintf(out, ",\"epoch\":%llu", (unsigned long long)st->epoch);
    if (st->role == MODEL_ROLE_COORDINATOR) {
        fprintf(out, ",\"phase\":");
        json_string(out, model_phase_name(st->phase));
    } else {
        fprintf(out, ",\"coordinator_link\":\"%s\"", st->coordinator_link ? "up" : "down");
    }
    fprintf(out, ",\"last_change\":");
    json_string(out, st->last_reason);
    json_age(out, "last_change_age_ms", st->last_reason_age_ms);
    fprintf(out, ",\"nodes\":[");
    for (unsigned i = 0; i < st->node_count; i++) {
        const struct wire_node_status *n = &st->nodes[i];
        fprintf(out, "%s{\"name\":", i ? "," : "");
        json_string(out, n->name);
        fprintf(out, ",\"link\":\"%s\",\"peer_link\":\"%s\",\"mode\":\"%s\",\"app\":\"%s\"",
                n->connected ? "up" : "down", n->peer_link ? "up" : "down",
                model_mode_name(n->mode), app_word(n));
        fprintf(out, ",\"sip_probe\":\"%s\"", model_probe_name(n->sip_probe));
        fprintf(out, ",\"last_change\":");
        json_string(out, n->last_change);
        json_age(out, "last_change_age_ms", n->last_change_age_ms);
        fprintf(out, ",\"port_desired\":\"%s\",\"port_actual\":\"%s\",\"epoch\":%llu",
                model_port_name(n->port_desired), model_port_name(n->port_actual),
                (unsigned long long)n->epoch);
        if (n->last_heard_ms == 0xFFFFFFFFu)
            fprintf(out, ",\"last_heard_ms\":null}");
        else
            fprintf(out, ",\"last_heard_ms\":%lu}", (unsigned long)n->last_heard_ms);
    }
    fprintf(out, "]}\n");
}
