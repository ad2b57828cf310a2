/* test_status_class.c - the WMI status class's rows (status_class.c): the
 * mapping from the status reply `nlbctl status` shows, the CIM DATETIME,
 * and the property names against mof/nlbctl.mof itself. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status_class.h"

START_TEST(datetime_format)
{
    char out[STATUS_CLASS_DATETIME];
    status_class_datetime(0, out);
    ck_assert_str_eq(out, "19700101000000.000000+000");
    status_class_datetime(1764177000123ull, out);
    ck_assert_str_eq(out, "20251126171000.123000+000");
    status_class_datetime(1709168461000ull, out); /* a leap day */
    ck_assert_str_eq(out, "20240229010101.000000+000");
    status_class_datetime(4102444799999ull, out); /* the last millisecond of 2099 */
    ck_assert_str_eq(out, "20991231235959.999000+000");
}
END_TEST

static void agent_reply(struct wire_status_reply *st)
{
    memset(st, 0, sizeof *st);
    st->role = MODEL_ROLE_AGENT;
    strcpy(st->pair, "sip");
    strcpy(st->primary, "web1");
    st->epoch = 12345678901234ull;
    st->coordinator_link = 1;
    strcpy(st->last_reason, "backup -> primary because coordinator ordered primary (epoch 7)");
    st->node_count = 1;
    struct wire_node_status *n = &st->nodes[0];
    strcpy(n->name, "web1");
    n->connected = 1;
    n->mode = MODEL_MODE_PRIMARY;
    n->app_healthy = 1;
    n->port_desired = MODEL_PORT_ENABLED;
    n->port_actual = MODEL_PORT_ENABLED;
    n->epoch = 12345678901234ull;
    n->peer_link = 0;
    strcpy(n->last_change, st->last_reason);
}

START_TEST(agent_row)
{
    struct wire_status_reply st;
    agent_reply(&st);
    struct status_class_row rows[2];
    ck_assert_uint_eq(status_class_rows(&st, "nlbctld", 1764177000123ull, rows, 2), 1);
    const struct status_class_row *r = &rows[0];
    ck_assert_str_eq(r->instance, "nlbctld");
    ck_assert_str_eq(r->node, "web1");
    ck_assert_str_eq(r->role, "agent");
    ck_assert_str_eq(r->pair, "sip");
    ck_assert_str_eq(r->primary, "web1");
    ck_assert_str_eq(r->phase, "");
    ck_assert_str_eq(r->mode, "primary");
    ck_assert_str_eq(r->epoch, "12345678901234");
    ck_assert_str_eq(r->application, "healthy");
    ck_assert_str_eq(r->port_desired, "enabled");
    ck_assert_str_eq(r->port_actual, "enabled");
    ck_assert_str_eq(r->coordinator_link, "up");
    ck_assert_str_eq(r->peer_link, "down");
    ck_assert_str_eq(r->last_transition, st.last_reason);
    ck_assert_str_eq(r->service_transition, st.last_reason);
    ck_assert_str_eq(r->last_change, "20251126171000.123000+000");

    /* Link down, application failed, port being disabled; no time known. */
    st.coordinator_link = 0;
    st.nodes[0].app_healthy = 0;
    st.nodes[0].port_desired = MODEL_PORT_DISABLED;
    st.nodes[0].port_actual = MODEL_PORT_UNKNOWN;
    st.nodes[0].mode = MODEL_MODE_BACKUP;
    st.primary[0] = '\0';
    status_class_rows(&st, "nlbctld", 0, rows, 2);
    ck_assert_str_eq(r->coordinator_link, "down");
    ck_assert_str_eq(r->application, "failed");
    ck_assert_str_eq(r->port_desired, "disabled");
    ck_assert_str_eq(r->port_actual, "unknown");
    ck_assert_str_eq(r->mode, "backup");
    ck_assert_str_eq(r->primary, "");
    ck_assert_str_eq(r->last_change, "");
    /* No room: nothing written. */
    ck_assert_uint_eq(status_class_rows(&st, "nlbctld", 0, rows, 0), 0);
}
END_TEST

START_TEST(coordinator_rows)
{
    struct wire_status_reply st;
    memset(&st, 0, sizeof st);
    st.role = MODEL_ROLE_COORDINATOR;
    strcpy(st.pair, "sip");
    strcpy(st.primary, "web1");
    st.epoch = 9;
    st.phase = MODEL_PHASE_STABLE;
    strcpy(st.last_reason, "promoting -> stable because web1 confirmed its port enabled");
    st.node_count = 2;
    strcpy(st.nodes[0].name, "web1");
    st.nodes[0].connected = 1;
    st.nodes[0].mode = MODEL_MODE_PRIMARY;
    st.nodes[0].app_healthy = 1;
    st.nodes[0].port_desired = st.nodes[0].port_actual = MODEL_PORT_ENABLED;
    st.nodes[0].epoch = 9;
    st.nodes[0].last_heard_ms = 120;
    st.nodes[0].peer_link = 1;
    strcpy(st.nodes[0].last_change, "backup -> primary because coordinator ordered primary");
    strcpy(st.nodes[1].name, "web2"); /* never heard */
    st.nodes[1].last_heard_ms = 0xFFFFFFFFu;
    struct status_class_row rows[2];
    ck_assert_uint_eq(status_class_rows(&st, "coord-pipe", 1764177000123ull, rows, 2), 2);
    ck_assert_str_eq(rows[0].instance, "coord-pipe");
    ck_assert_str_eq(rows[0].node, "web1");
    ck_assert_str_eq(rows[0].role, "coordinator");
    ck_assert_str_eq(rows[0].phase, "stable");
    ck_assert_str_eq(rows[0].mode, "primary");
    ck_assert_str_eq(rows[0].epoch, "9");
    ck_assert_str_eq(rows[0].coordinator_link, "up");
    ck_assert_str_eq(rows[0].peer_link, "up");
    ck_assert_str_eq(rows[0].last_transition, st.nodes[0].last_change);
    ck_assert_str_eq(rows[0].service_transition, st.last_reason);
    ck_assert_str_eq(rows[1].node, "web2");
    ck_assert_str_eq(rows[1].mode, "unknown");
    ck_assert_str_eq(rows[1].application, "unknown");
    ck_assert_str_eq(rows[1].port_actual, "unknown");
    ck_assert_str_eq(rows[1].coordinator_link, "down");
    ck_assert_str_eq(rows[1].epoch, "0");
    ck_assert_str_eq(rows[1].primary, "web1");
    /* Only as many rows as there is room for. */
    ck_assert_uint_eq(status_class_rows(&st, "coord-pipe", 0, rows, 1), 1);
}
END_TEST

/* The names status_class_properties gives, in order, are the properties
 * of class Nlbctl_Status in mof/nlbctl.mof. */
START_TEST(properties_match_mof)
{
    const char *path = NLBCTL_SOURCE_DIR "/mof/nlbctl.mof";
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    char *body = strstr(text, "class " STATUS_CLASS_NAME);
    ck_assert_msg(body != NULL, "no class %s in %s", STATUS_CLASS_NAME, path);
    ck_assert_ptr_nonnull(strstr(text, "Name = \"nlbctl\""));
    struct status_class_row row;
    memset(&row, 0, sizeof row);
    struct status_class_property p[STATUS_CLASS_PROPERTIES];
    status_class_properties(&row, p);
    int found = 0;
    for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n")) {
        char type[32], name[64];
        if (sscanf(line, " %31s %63[A-Za-z0-9_];", type, name) != 2 ||
            (strcmp(type, "string") != 0 && strcmp(type, "uint64") != 0 &&
             strcmp(type, "datetime") != 0))
            continue;
        ck_assert_msg(found < STATUS_CLASS_PROPERTIES, "the MOF has more properties (%s)", name);
        ck_assert_msg(strcmp(p[found].name, name) == 0, "property %d: the MOF says %s, the code %s",
                      found, name, p[found].name);
        found++;
    }
    ck_assert_int_eq(found, STATUS_CLASS_PROPERTIES);
    ck_assert_str_eq(p[0].name, "Instance");
    ck_assert_str_eq(p[1].name, "Node");
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("status_class");
    TCase *tc = tcase_create("datetime");
    tcase_add_test(tc, datetime_format);
    suite_add_tcase(s, tc);
    tc = tcase_create("rows");
    tcase_add_test(tc, agent_row);
    tcase_add_test(tc, coordinator_rows);
    suite_add_tcase(s, tc);
    tc = tcase_create("mof");
    tcase_add_test(tc, properties_match_mof);
    suite_add_tcase(s, tc);
    return s;
}
