/* test_config.c - config_parse: accepted forms, defaults, every error class
 * with its message, and the shipped example file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FILE_NAME "t.ini"

/* A pre-shared key for the valid configs: 64 hex digits, mixed case. */
#define TEST_KEY "00112233445566778899AABBCCDDEEFF0123456789abcdeffedcba9876543210"
#define SECURITY_TEXT "[security]\nkey = " TEST_KEY "\n"

/* A complete, valid agent config but for the key; tests append to it.
 * It drives the simulated NLB, so it says backend = sim (wmi is the
 * default) and gives the sim's folder. */
#define AGENT_BODY                                                              \
    "[nlbctld]\n"                                                               \
    "role = agent\n"                                                            \
    "[agent]\n"                                                                 \
    "node = web1\n"                                                             \
    "coordinator = 192.0.2.5:7400\n"                                            \
    "[nlb]\n"                                                                   \
    "backend = sim\n"                                                           \
    "vip = 192.0.2.10\n"                                                        \
    "port = 5060\n"                                                             \
    "sim_dir = C:\\ProgramData\\nlbctl\\sim\n"

#define COORDINATOR_BODY                                                        \
    "[nlbctld]\n"                                                               \
    "role = coordinator\n"                                                      \
    "[pair]\n"                                                                  \
    "node1 = web1\n"                                                            \
    "node2 = web2\n"

/* Complete, valid configs. Both end inside a section ([nlb], [pair]) that
 * tests may add keys to, so the key comes first. */
#define AGENT_TEXT SECURITY_TEXT AGENT_BODY
#define COORDINATOR_TEXT SECURITY_TEXT COORDINATOR_BODY

static int parse_text(const char *text, size_t len, struct config *cfg, char *err)
{
    return config_parse(FILE_NAME, text, len, cfg, err, CONFIG_ERROR_MAX);
}

#define PARSE_OK(text, cfg)                                                     \
    do {                                                                        \
        char e_[CONFIG_ERROR_MAX];                                              \
        int rc_ = parse_text((text), strlen(text), (cfg), e_);                  \
        ck_assert_msg(rc_ == 0, "expected success, got: %s", e_);               \
    } while (0)

/* The error must start with `prefix` (file, line, section, key) and
 * contain `detail` (what is wrong and what is allowed). */
#define EXPECT_ERR_LEN(text, len, prefix, detail)                               \
    do {                                                                        \
        char e_[CONFIG_ERROR_MAX];                                              \
        struct config c_;                                                       \
        int rc_ = parse_text((text), (len), &c_, e_);                           \
        ck_assert_msg(rc_ == -1, "expected an error starting '%s'", (prefix));  \
        ck_assert_msg(strncmp(e_, (prefix), strlen(prefix)) == 0,              \
                      "message '%s' does not start with '%s'", e_, (prefix));   \
        ck_assert_msg(strstr(e_, (detail)) != NULL,                             \
                      "message '%s' does not contain '%s'", e_, (detail));      \
        ck_assert_msg(strchr(e_, '\n') == NULL, "message has a newline: %s", e_);\
    } while (0)

#define EXPECT_ERR(text, prefix, detail) EXPECT_ERR_LEN(text, strlen(text), prefix, detail)

/* ---- accepted configs --------------------------------------------------- */

START_TEST(valid_agent)
{
    struct config c;
    PARSE_OK("[nlbctld]\n"
             "role = agent\n"
             "pipe = nlbctld-test_1.x\n"
             "state_dir = C:\\ProgramData\\nlbctl\\state\n"
             "log_file = D:\\logs\\nlbctld.log\n"
             "[pair]\n"
             "name = sip\n"
             "node1 = web1\n"
             "node2 = web2\n"
             "preferred = web2\n"
             "[agent]\n"
             "node = web2\n"
             "coordinator = witness.example.com:7401\n"
             "[nlb]\n"
             "backend = sim\n"
             "vip = 192.0.2.10\n"
             "port = 5060\n"
             "sim_dir = C:\\ProgramData\\nlbctl\\sim\n"
             "[timing]\n"
             "heartbeat_ms = 250\n"
             "reconcile_ms = 10000\n"
             "reconnect_ms = 2000\n"
             "miss_count = 10\n"
             "[security]\n"
             "key = " TEST_KEY "\n",
             &c);
    ck_assert_int_eq(c.role, MODEL_ROLE_AGENT);
    ck_assert_str_eq(c.pipe, "nlbctld-test_1.x");
    ck_assert_str_eq(c.state_dir, "C:\\ProgramData\\nlbctl\\state");
    ck_assert_str_eq(c.log_file, "D:\\logs\\nlbctld.log");
    ck_assert_str_eq(c.pair, "sip");
    ck_assert_str_eq(c.node1, "web1");
    ck_assert_str_eq(c.node2, "web2");
    ck_assert_str_eq(c.preferred, "web2");
    ck_assert_str_eq(c.node, "web2");
    ck_assert_str_eq(c.coordinator.host, "witness.example.com");
    ck_assert_uint_eq(c.coordinator.port, 7401);
    ck_assert_str_eq(c.backend, "sim");
    ck_assert_str_eq(c.vip, "192.0.2.10");
    ck_assert_uint_eq(c.port, 5060);
    ck_assert_str_eq(c.sim_dir, "C:\\ProgramData\\nlbctl\\sim");
    ck_assert_uint_eq(c.heartbeat_ms, 250);
    ck_assert_uint_eq(c.reconcile_ms, 10000);
    ck_assert_uint_eq(c.reconnect_ms, 2000);
    ck_assert_uint_eq(c.miss_count, 10);
    ck_assert_uint_eq(c.key_len, 32);
}
END_TEST

START_TEST(valid_agent_without_pair)
{
    struct config c;
    PARSE_OK(AGENT_TEXT, &c);
    ck_assert_int_eq(c.role, MODEL_ROLE_AGENT);
    ck_assert_str_eq(c.node, "web1");
    ck_assert_str_eq(c.coordinator.host, "192.0.2.5");
    ck_assert_uint_eq(c.coordinator.port, 7400);
    ck_assert_str_eq(c.node1, "");
    ck_assert_str_eq(c.node2, "");
    ck_assert_str_eq(c.preferred, "");
}
END_TEST

START_TEST(valid_coordinator)
{
    struct config c;
    PARSE_OK(COORDINATOR_TEXT
             "name = pbx\n"
             "preferred = web2\n"
             "[coordinator]\n"
             "listen = 192.0.2.5:7500\n"
             "election_wait_ms = 0\n"
             "switchover_timeout_ms = 600000\n",
             &c);
    ck_assert_int_eq(c.role, MODEL_ROLE_COORDINATOR);
    ck_assert_str_eq(c.pair, "pbx");
    ck_assert_str_eq(c.node1, "web1");
    ck_assert_str_eq(c.node2, "web2");
    ck_assert_str_eq(c.preferred, "web2");
    ck_assert_str_eq(c.listen.host, "192.0.2.5");
    ck_assert_uint_eq(c.listen.port, 7500);
    ck_assert_uint_eq(c.election_wait_ms, 0);
    ck_assert_uint_eq(c.switchover_timeout_ms, 600000);
    /* An agent's keys are not needed by a coordinator. */
    ck_assert_str_eq(c.node, "");
    ck_assert_str_eq(c.vip, "");
    ck_assert_uint_eq(c.port, 0);
}
END_TEST

static void assert_defaults_except_required(const struct config *c)
{
    ck_assert_str_eq(c->pipe, "nlbctld");
    ck_assert_str_eq(c->state_dir, "");
    ck_assert_str_eq(c->log_file, "");
    ck_assert_str_eq(c->pair, "pair");
    ck_assert_str_eq(c->listen.host, "0.0.0.0");
    ck_assert_uint_eq(c->listen.port, 7400);
    ck_assert_uint_eq(c->election_wait_ms, 3000);
    ck_assert_uint_eq(c->switchover_timeout_ms, 15000);
    /* backend is checked by the callers: AGENT_TEXT sets it. */
    ck_assert_str_eq(c->cluster_ip, ""); /* the vip's cluster */
    ck_assert_str_eq(c->exec_command, "nlb.exe %ACTION% %VIP%:%PORT%");
    ck_assert_str_eq(c->exec_query, "nlb.exe queryport %VIP%:%PORT%");
    ck_assert_uint_eq(c->drain_ms, 0); /* no drain */
    ck_assert_uint_eq(c->heartbeat_ms, 500);
    ck_assert_uint_eq(c->reconcile_ms, 5000);
    ck_assert_uint_eq(c->reconnect_ms, 1000);
    ck_assert_str_eq(c->peer.host, "");
    ck_assert_uint_eq(c->peer.port, 0); /* no peer link */
    ck_assert_str_eq(c->peer_listen.host, "0.0.0.0");
    ck_assert_uint_eq(c->peer_listen.port, 7401);
    ck_assert_str_eq(c->app_service, ""); /* no application monitor */
    ck_assert_str_eq(c->app_path, "");
    ck_assert_str_eq(c->app_args, "");
    ck_assert_uint_eq(c->app_start, 1);
    ck_assert_uint_eq(c->preempt, 0);
    ck_assert_uint_eq(c->preempt_delay_ms, 60000);
    ck_assert_uint_eq(c->miss_count, 5);
    ck_assert_uint_eq(c->isolation_ms, 1500);
    ck_assert_uint_eq(c->nlb_timeout_ms, 600);
    ck_assert_uint_eq(c->max_delay_ms, 200);
    ck_assert_str_eq(c->key_file, "");
    ck_assert_uint_eq(c->allow_unauthenticated, 0);
    ck_assert_str_eq(c->status_group, "");
}

START_TEST(defaults)
{
    struct config c;

    memset(&c, 0x5a, sizeof c);
    config_defaults(&c);
    ck_assert_int_eq(c.role, 0);
    ck_assert_str_eq(c.node1, "");
    ck_assert_str_eq(c.preferred, "");
    ck_assert_str_eq(c.node, "");
    ck_assert_str_eq(c.coordinator.host, "");
    ck_assert_uint_eq(c.coordinator.port, 0);
    ck_assert_str_eq(c.vip, "");
    ck_assert_uint_eq(c.port, 0);
    ck_assert_str_eq(c.sim_dir, "");
    ck_assert_uint_eq(c.key_len, 0);
    ck_assert_str_eq(c.backend, "wmi");
    assert_defaults_except_required(&c);

    /* config_parse starts from the defaults, whatever was in cfg. */
    memset(&c, 0x5a, sizeof c);
    PARSE_OK(COORDINATOR_TEXT, &c);
    assert_defaults_except_required(&c);
    ck_assert_str_eq(c.backend, "wmi");
    ck_assert_str_eq(c.preferred, "web1"); /* defaults to node1 */

    memset(&c, 0x5a, sizeof c);
    PARSE_OK(AGENT_TEXT, &c);
    assert_defaults_except_required(&c);
    ck_assert_str_eq(c.backend, "sim");
}
END_TEST

START_TEST(syntax_forms)
{
    /* BOM, CRLF, both comment marks (indented too), tabs, blank lines,
     * quotes, spaces inside brackets, odd case in names, no final newline. */
    static const char text[] =
        "\xEF\xBB\xBF; written by Notepad\r\n"
        "\r\n"
        "   # indented comment\r\n"
        "\t;another = not a key\r\n"
        "[ NLBCTLD ]\r\n"
        "\tRole\t=\tAgent  \r\n"
        "PIPE=\"my.pipe\"\r\n"
        "state_dir = \" C:\\Program Files\\nlbctl \"\r\n"
        "[Agent]\r\n"
        "Node = WEB1\r\n"
        "coordinator=\"witness:7400\"\r\n"
        "   \t   \r\n"
        "[NLB]\r\n"
        "backend = SIM\r\n"
        "vip = 192.0.2.10\r\n"
        "port = \"05060\"\r\n"
        "sim_dir = C:\\sim dir\\with = sign\r\n"
        "[Security]\r\n"
        "KEY = \"" TEST_KEY "\"";
    struct config c;

    PARSE_OK(text, &c);
    ck_assert_int_eq(c.role, MODEL_ROLE_AGENT);
    ck_assert_str_eq(c.pipe, "my.pipe");
    ck_assert_str_eq(c.state_dir, " C:\\Program Files\\nlbctl ");
    ck_assert_str_eq(c.node, "WEB1");
    ck_assert_str_eq(c.coordinator.host, "witness");
    ck_assert_str_eq(c.backend, "sim");
    ck_assert_uint_eq(c.port, 5060);
    /* Only the first '=' splits; the rest belongs to the value. */
    ck_assert_str_eq(c.sim_dir, "C:\\sim dir\\with = sign");
}
END_TEST

START_TEST(line_numbers_with_crlf_and_bom)
{
    /* The BOM must not shift the count, and CRLF is one line ending. */
    EXPECT_ERR("\xEF\xBB\xBF[nlbctld]\r\nrole = agent\r\n\r\n[nlb]\r\nport = abc\r\n",
               FILE_NAME ":5: [nlb] port: ", "'abc' is not a number from 1 to 65535");
}
END_TEST

/* ---- line-level errors -------------------------------------------------- */

static char *make_line(size_t n, const char *head, char fill)
{
    size_t hn = strlen(head);
    char *s = malloc(n + 64);

    ck_assert_ptr_nonnull(s);
    memcpy(s, head, hn);
    memset(s + hn, fill, n - hn);
    s[n] = '\0';
    return s;
}

START_TEST(err_line_too_long)
{
    char text[4096];
    char *line = make_line(1024, ";", 'x');

    /* 1024 bytes is the limit, with either line ending. */
    snprintf(text, sizeof text, "%s\n%s\r\n" AGENT_TEXT, line, line);
    PARSE_OK(text, &(struct config){ 0 });
    free(line);

    line = make_line(1025, ";", 'x');
    snprintf(text, sizeof text, "[nlbctld]\nrole = agent\n%s\n", line);
    EXPECT_ERR(text, FILE_NAME ":3: [nlbctld]: ", "1025 bytes long; at most 1024");
    free(line);

    /* A long value line is refused for its length, not its value. */
    line = make_line(2000, "sim_dir = C:\\", 'd');
    snprintf(text, sizeof text, "[nlb]\n%s", line);
    EXPECT_ERR(text, FILE_NAME ":2: [nlb]: ", "2000 bytes long; at most 1024");
    free(line);
}
END_TEST

START_TEST(err_malformed_line)
{
    EXPECT_ERR("[nlbctld]\nrole = agent\nrole agent\n", FILE_NAME ":3: [nlbctld]: ",
               "'role agent' is not a [section], a comment (; or #) or key = value");
    EXPECT_ERR("just words\n", FILE_NAME ":1: ", "is not a [section]");
    EXPECT_ERR("[nlbctld]\n= agent\n", FILE_NAME ":2: [nlbctld]: ", "no key before it");
    EXPECT_ERR("; c\n[nlb\n", FILE_NAME ":2: ", "no closing ']'");
    EXPECT_ERR("[nlb] ; comment\n", FILE_NAME ":1: ", "text after ']'");
    EXPECT_ERR("[]\n", FILE_NAME ":1: []: ", "unknown section");
    /* A comment after a value is part of the value, so it fails there. */
    EXPECT_ERR("[nlb]\nport = 5060 ; sip\n", FILE_NAME ":2: [nlb] port: ",
               "'5060 ; sip' is not a number from 1 to 65535");
    /* Control characters in a bad line are not copied into the message. */
    EXPECT_ERR("[nlb]\nbad\x01line\n", FILE_NAME ":2: [nlb]: ", "'bad?line'");
}
END_TEST

START_TEST(err_key_outside_section)
{
    EXPECT_ERR("; a comment\nrole = agent\n[nlbctld]\n", FILE_NAME ":2: role: ",
               "key outside any section; put it under [nlbctld]");
    EXPECT_ERR("vip = 192.0.2.1\n", FILE_NAME ":1: vip: ", "put it under [nlb]");
    EXPECT_ERR("colour = blue\n", FILE_NAME ":1: colour: ", "key outside any section");
}
END_TEST

START_TEST(err_unknown_section)
{
    EXPECT_ERR("[nlbctld]\nrole = agent\n[nbl]\nport = 5060\n", FILE_NAME ":3: [nbl]: ",
               "unknown section; use [nlbctld], [pair], [agent], [application], [coordinator], "
               "[sip_monitor], [nlb], [timing] or [security]");
}
END_TEST

START_TEST(err_unknown_key)
{
    EXPECT_ERR("[nlbctld]\nrole = agent\n[nlb]\nprot = 5060\n", FILE_NAME ":4: [nlb] prot: ",
               "unknown key; [nlb] takes backend, vip, port, sim_dir, cluster_ip, exec_command, "
               "exec_query or drain_ms");
    /* A key known in another section is still unknown here. */
    EXPECT_ERR("[agent]\nvip = 192.0.2.1\n", FILE_NAME ":2: [agent] vip: ",
               "[agent] takes node, coordinator, peer or peer_listen");
    EXPECT_ERR("[timing]\nheartbeat = 5\n", FILE_NAME ":2: [timing] heartbeat: ",
               "heartbeat_ms, reconcile_ms, reconnect_ms, miss_count, isolation_ms, "
               "nlb_timeout_ms or max_delay_ms");
    EXPECT_ERR("[coordinator]\nfailback = yes\n", FILE_NAME ":2: [coordinator] failback: ",
               "[coordinator] takes listen, election_wait_ms, switchover_timeout_ms, preempt "
               "or preempt_delay_ms");
    EXPECT_ERR("[application]\nexe = x\n", FILE_NAME ":2: [application] exe: ",
               "[application] takes service, path, args or start");
    EXPECT_ERR("[security]\npsk = 00\n", FILE_NAME ":2: [security] psk: ",
               "[security] takes key, key_file, allow_unauthenticated or status_group");
}
END_TEST

START_TEST(err_duplicate_key)
{
    EXPECT_ERR("[nlbctld]\nrole = agent\n[nlb]\nport = 5060\nPort = 5061\n",
               FILE_NAME ":5: [nlb] port: ", "set twice (first on line 4)");
    /* Reopening a section does not make a fresh copy of its keys. */
    EXPECT_ERR("[nlb]\nvip = 192.0.2.1\n[timing]\n[nlb]\nvip = 192.0.2.1\n",
               FILE_NAME ":5: [nlb] vip: ", "set twice (first on line 2)");
    /* A reopened section may add other keys. */
    PARSE_OK("[nlb]\nvip = 192.0.2.10\n[nlbctld]\nrole = agent\n[nlb]\nport = 1\n"
             "sim_dir = x\n[agent]\nnode = a\ncoordinator = h:1\n" SECURITY_TEXT,
             &(struct config){ 0 });
}
END_TEST

static void expect_length_limit(const char *section, const char *key, size_t max,
                                const char *fill_head)
{
    char text[1024], prefix[64], detail[64];
    char *ok = make_line(max, fill_head, 'a');
    char *bad = make_line(max + 1, fill_head, 'a');

    snprintf(text, sizeof text, COORDINATOR_TEXT "[%s]\n%s = %s\n", section, key, ok);
    PARSE_OK(text, &(struct config){ 0 });
    /* The limit applies after the quotes are removed. */
    snprintf(text, sizeof text, COORDINATOR_TEXT "[%s]\n%s = \"%s\"\n", section, key, ok);
    PARSE_OK(text, &(struct config){ 0 });

    snprintf(text, sizeof text, "[%s]\n%s = %s\n", section, key, bad);
    snprintf(prefix, sizeof prefix, FILE_NAME ":2: [%s] %s: ", section, key);
    snprintf(detail, sizeof detail, "is %lu bytes long; at most %lu allowed",
             (unsigned long)(max + 1), (unsigned long)max);
    EXPECT_ERR(text, prefix, detail);
    free(ok);
    free(bad);
}

START_TEST(err_value_too_long)
{
    char text[512], *host;
    struct config c;

    expect_length_limit("nlbctld", "pipe", 63, "p");
    expect_length_limit("pair", "name", 63, "n");
    expect_length_limit("agent", "node", 63, "n");
    expect_length_limit("nlbctld", "state_dir", 259, "C:\\");
    expect_length_limit("nlbctld", "log_file", 259, "C:\\");
    expect_length_limit("nlb", "sim_dir", 259, "C:\\");
    expect_length_limit("application", "service", 256, "S");
    expect_length_limit("application", "path", 259, "C:\\");
    expect_length_limit("security", "status_group", 256, "CORP\\");

    /* The host of host:port has its own limit. */
    host = make_line(63, "h", 'h');
    snprintf(text, sizeof text, COORDINATOR_TEXT "[coordinator]\nlisten = %s:7400\n", host);
    PARSE_OK(text, &c);
    ck_assert_str_eq(c.listen.host, host);
    free(host);
    host = make_line(64, "h", 'h');
    snprintf(text, sizeof text, "[agent]\ncoordinator = %s:7400\n", host);
    EXPECT_ERR(text, FILE_NAME ":2: [agent] coordinator: ", "longer than 63 bytes");
    free(host);
}
END_TEST

/* ---- value errors ------------------------------------------------------- */

struct bad_value {
    const char *section, *key, *value, *detail;
};

static const struct bad_value bad_values[] = {
    { "nlbctld", "role", "witness", "'witness' is not a role; use agent or coordinator" },
    { "nlbctld", "role", "", "'' is not a role" },
    { "nlbctld", "pipe", "\\\\.\\pipe\\x", "is not a pipe name; use 1 to 63 letters, digits" },
    { "nlbctld", "pipe", "", "is empty; give a pipe name of 1 to 63" },
    { "nlbctld", "pipe", "a b", "'a b' is not a pipe name" },
    { "nlbctld", "state_dir", "", "is empty; give a path of 1 to 259 bytes" },
    { "nlbctld", "state_dir", "\"\"", "is empty" },
    { "nlbctld", "log_file", "C:\\a\tb.log", "'C:\\a?b.log' holds a control character (byte 9)" },
    { "nlbctld", "log_file", "\"C:\\x", "opening '\"' has no closing '\"'" },
    { "nlbctld", "log_file", "\"", "opening '\"' has no closing '\"'" },
    { "pair", "name", "my pair", "'my pair' is not a name; use 1 to 63 letters, digits, '-', '_' or '.'" },
    { "pair", "node1", "web/1", "'web/1' is not a name" },
    { "pair", "node2", "wéb", "is not a name" },
    { "pair", "preferred", "", "is empty; give a name" },
    { "agent", "node", "web:1", "is not a name" },
    { "agent", "coordinator", "192.0.2.5", "no ':' before the port; expected host:port, e.g. 192.0.2.5:7400" },
    { "agent", "coordinator", "192.0.2.5:", "port is not a number from 1 to 65535" },
    { "agent", "coordinator", "192.0.2.5:0", "port is not a number from 1 to 65535" },
    { "agent", "coordinator", "192.0.2.5:65536", "port is not a number from 1 to 65535" },
    { "agent", "coordinator", "192.0.2.5:99999999999999999999", "port is not a number" },
    { "agent", "coordinator", ":7400", "host is empty" },
    { "agent", "coordinator", "192.0.2.256:7400", "not an IPv4 address" },
    { "agent", "coordinator", "192.0.2:7400", "not an IPv4 address" },
    { "agent", "coordinator", "wit_ness:7400", "only letters, digits, '-' and '.'" },
    { "agent", "coordinator", "[::1]:7400", "only letters, digits, '-' and '.'" },
    { "agent", "coordinator", "a..b:7400", "empty part between dots" },
    { "agent", "coordinator", "-a.b:7400", "starts or ends with '-'" },
    { "agent", "coordinator", "a.b.:7400", "ends with '.'" },
    { "agent", "coordinator", "0.0.0.0:7400", "0.0.0.0 means every local address" },
    { "coordinator", "listen", "0.0.0.0", "expected host:port, e.g. 192.0.2.5:7400" },
    { "coordinator", "listen", "0.0.0.0:x", "port is not a number" },
    { "nlb", "backend", "simulated", "'simulated' is not a backend; must be wmi (NLB through "
      "WMI, the default), exec (nlb.exe or your own script) or sim (simulated, for tests)" },
    { "nlb", "backend", "", "'' is not a backend; must be wmi" },
    { "nlb", "backend", "nlb.exe", "'nlb.exe' is not a backend; must be wmi" },
    { "nlb", "backend", "wmi exec", "'wmi exec' is not a backend" },
    { "nlb", "backend", "\"\"", "'' is not a backend" },
    { "nlb", "cluster_ip", "192.0.2.9:5060", "'192.0.2.9:5060' is not an IPv4 address" },
    { "nlb", "cluster_ip", "nlb-cluster.corp", "is not an IPv4 address" },
    { "nlb", "drain_ms", "30s", "'30s' is not a number from 0 to 3600000" },
    { "nlb", "exec_command", "nlb.exe\t%ACTION%", "'nlb.exe?%ACTION%' holds a control "
      "character (byte 9)" },
    { "nlb", "exec_query", "wlbs.exe\x1bquery", "holds a control character (byte 27)" },
    { "nlb", "vip", "192.0.2.10:5060", "is not an IPv4 address" },
    { "nlb", "port", "http", "'http' is not a number from 1 to 65535" },
    { "nlb", "sim_dir", "", "is empty; give a path" },
    { "agent", "peer", "192.0.2.12", "no ':' before the port; expected host:port" },
    { "agent", "peer", "192.0.2.12:0", "port is not a number from 1 to 65535" },
    { "agent", "peer", "0.0.0.0:7401", "0.0.0.0 means every local address, not a host" },
    { "agent", "peer", "", "there is no ':' before the port" },
    { "agent", "peer_listen", "0.0.0.0", "expected host:port, e.g. 192.0.2.5:7400" },
    { "agent", "peer_listen", "0.0.0.0:65536", "port is not a number from 1 to 65535" },
    { "agent", "peer_listen", "my_host:7401", "only letters, digits, '-' and '.'" },
    { "application", "service", "", "is empty; give a service name of 1 to 256 bytes" },
    { "application", "service", "\"\"", "is empty; give a service name" },
    { "application", "service", "Sip\\Server", "'Sip\\Server' holds '\\'; a Windows service name "
      "has no '/' or '\\'" },
    { "application", "service", "Sip/Server", "'Sip/Server' holds '/'" },
    { "application", "service", "Sip\tServer", "'Sip?Server' holds a control character (byte 9)" },
    { "application", "path", "", "is empty; give a path of 1 to 259 bytes" },
    { "application", "path", "C:\\a\x7f.exe", "holds a control character (byte 127)" },
    { "application", "args", "-v\x01", "'-v?' holds a control character (byte 1); arguments "
      "may hold any other character" },
    { "security", "key_file", "", "is empty; give a path" },
    { "security", "status_group", "", "is empty; give a group name of 1 to 256 bytes" },
    { "security", "status_group", "NLB\x1bOps", "'NLB?Ops' holds a control character (byte 27)" },
};

START_TEST(err_bad_values)
{
    size_t i;
    for (i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        const struct bad_value *b = &bad_values[i];
        char text[512], prefix[128];
        snprintf(text, sizeof text, "; line 1\n[%s]\n%s = %s\n", b->section, b->key, b->value);
        snprintf(prefix, sizeof prefix, FILE_NAME ":3: [%s] %s: ", b->section, b->key);
        EXPECT_ERR(text, prefix, b->detail);
    }
}
END_TEST

START_TEST(good_endpoints)
{
    static const char *const hosts[] = { "witness", "w-1.corp.example", "192.0.2.5",
                                         "0.0.0.1", "a", "x1" };
    size_t i;
    for (i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        char text[512];
        struct config c;
        snprintf(text, sizeof text, COORDINATOR_TEXT "[coordinator]\nlisten = %s:65535\n",
                 hosts[i]);
        PARSE_OK(text, &c);
        ck_assert_str_eq(c.listen.host, hosts[i]);
        ck_assert_uint_eq(c.listen.port, 65535);
    }
}
END_TEST

START_TEST(err_bad_ipv4)
{
    static const char *const bad[] = {
        "192.0.2", "192.0.2.1.5", "256.0.2.1", "192.0.2.300", "1.2.3.-4", "+1.2.3.4",
        "01.2.3.4", "192.0.2.010", "a.b.c.d", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 5",
        "1.2.3.1000", "1.2.3.99999999999999999999", "localhost", "",
    };
    static const char *const good[] = { "0.0.0.0", "255.255.255.255", "192.0.2.10",
                                        "10.0.0.1" };
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256], detail[128];
        snprintf(text, sizeof text, "[nlbctld]\nrole = agent\n[nlb]\nvip = %s\n", bad[i]);
        snprintf(detail, sizeof detail, "'%s' is not an IPv4 address; expected four numbers "
                 "from 0 to 255 separated by dots", bad[i]);
        EXPECT_ERR(text, FILE_NAME ":4: [nlb] vip: ", detail);
        /* cluster_ip is read the same way. */
        snprintf(text, sizeof text, "[nlbctld]\nrole = agent\n[nlb]\ncluster_ip = %s\n",
                 bad[i]);
        EXPECT_ERR(text, FILE_NAME ":4: [nlb] cluster_ip: ", detail);
    }
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[512];
        struct config c;
        snprintf(text, sizeof text, "[nlbctld]\nrole = agent\n[agent]\nnode = a\n"
                 "coordinator = h:1\n[nlb]\nport = 1\nsim_dir = s\nvip = %s\n" SECURITY_TEXT,
                 good[i]);
        PARSE_OK(text, &c);
        ck_assert_str_eq(c.vip, good[i]);
        ck_assert_str_eq(c.cluster_ip, "");
        snprintf(text, sizeof text, AGENT_TEXT "cluster_ip = %s\n", good[i]);
        PARSE_OK(text, &c);
        ck_assert_str_eq(c.cluster_ip, good[i]);
        ck_assert_str_eq(c.vip, "192.0.2.10");
    }
}
END_TEST

/* at_min, at_max: other [timing] lines that make the whole file valid
 * around the extreme value (the timing rules tie the figures together);
 * NULL = the defaults do. min_refused: the minimum passes the range check
 * but no file can satisfy the timing rules with it; the message says so. */
struct range {
    const char *section, *key;
    unsigned long min, max;
    const char *at_min, *at_max;
    const char *min_refused;
};

static const struct range ranges[] = {
    { "coordinator", "election_wait_ms", 0, 600000, NULL, NULL, NULL },
    { "coordinator", "switchover_timeout_ms", 1000, 600000, NULL, NULL, NULL },
    { "coordinator", "preempt_delay_ms", 1000, 86400000, NULL, NULL, NULL },
    { "nlb", "port", 1, 65535, NULL, NULL, NULL },
    { "nlb", "drain_ms", 0, 3600000, NULL, NULL, NULL },
    { "timing", "heartbeat_ms", 50, 60000, "miss_count = 100\n", "isolation_ms = 120000\n",
      NULL },
    { "timing", "reconcile_ms", 100, 3600000, NULL, NULL, NULL },
    { "timing", "reconnect_ms", 50, 60000, NULL, NULL, NULL },
    /* isolation_ms >= 2 x heartbeat_ms and isolation_ms + nlb_timeout_ms
     * (>= 100) < 2 x heartbeat_ms cannot both hold. */
    { "timing", "miss_count", 2, 100, NULL, NULL,
      "must be less than heartbeat_ms 500 x miss_count 2 = 1000 ms" },
    { "timing", "isolation_ms", 100, 600000, "heartbeat_ms = 50\nmiss_count = 20\n",
      "heartbeat_ms = 60000\nmiss_count = 11\n", NULL },
    { "timing", "nlb_timeout_ms", 100, 600000, NULL,
      "heartbeat_ms = 10000\nmiss_count = 100\nisolation_ms = 20000\n", NULL },
    { "timing", "max_delay_ms", 0, 60000, NULL,
      "heartbeat_ms = 1000\nmiss_count = 100\nisolation_ms = 2000\n", NULL },
};

static void expect_number_error(const struct range *r, const char *value)
{
    char text[256], prefix[96], detail[128];
    snprintf(text, sizeof text, "[%s]\n%s = %s\n", r->section, r->key, value);
    snprintf(prefix, sizeof prefix, FILE_NAME ":2: [%s] %s: ", r->section, r->key);
    snprintf(detail, sizeof detail, "'%s' is not a number from %lu to %lu", value, r->min,
             r->max);
    EXPECT_ERR(text, prefix, detail);
}

static void expect_number_ok(const struct range *r, unsigned long v, const char *timing)
{
    char text[512];
    struct config c;
    unsigned long got = 0;

    snprintf(text, sizeof text, COORDINATOR_TEXT "[%s]\n%s = %lu\n[timing]\n%s", r->section,
             r->key, v, timing ? timing : "");
    PARSE_OK(text, &c);
    if (strcmp(r->key, "election_wait_ms") == 0) got = c.election_wait_ms;
    else if (strcmp(r->key, "switchover_timeout_ms") == 0) got = c.switchover_timeout_ms;
    else if (strcmp(r->key, "preempt_delay_ms") == 0) got = c.preempt_delay_ms;
    else if (strcmp(r->key, "port") == 0) got = c.port;
    else if (strcmp(r->key, "drain_ms") == 0) got = c.drain_ms;
    else if (strcmp(r->key, "heartbeat_ms") == 0) got = c.heartbeat_ms;
    else if (strcmp(r->key, "reconcile_ms") == 0) got = c.reconcile_ms;
    else if (strcmp(r->key, "reconnect_ms") == 0) got = c.reconnect_ms;
    else if (strcmp(r->key, "miss_count") == 0) got = c.miss_count;
    else if (strcmp(r->key, "isolation_ms") == 0) got = c.isolation_ms;
    else if (strcmp(r->key, "nlb_timeout_ms") == 0) got = c.nlb_timeout_ms;
    else if (strcmp(r->key, "max_delay_ms") == 0) got = c.max_delay_ms;
    else ck_abort_msg("expect_number_ok: no field for %s", r->key);
    ck_assert_uint_eq(got, v);
}

START_TEST(err_number_range)
{
    static const char *const never[] = {
        "99999999999999999999", "4294967296", "18446744073709551617", "-1", "+5", "5 0",
        "0x10", "1e3", "1.5", "1,000", "", "ten",
    };
    size_t i, j;

    for (i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        const struct range *r = &ranges[i];
        char value[32];

        if (r->min_refused) {
            char text[512];
            snprintf(text, sizeof text, COORDINATOR_TEXT "[%s]\n%s = %lu\n", r->section,
                     r->key, r->min);
            EXPECT_ERR(text, FILE_NAME ": [timing] isolation_ms: ", r->min_refused);
        } else {
            expect_number_ok(r, r->min, r->at_min);
        }
        expect_number_ok(r, r->max, r->at_max);
        snprintf(value, sizeof value, "%lu", r->max + 1);
        expect_number_error(r, value);
        if (r->min > 0) {
            snprintf(value, sizeof value, "%lu", r->min - 1);
            expect_number_error(r, value);
        }
        for (j = 0; j < sizeof never / sizeof never[0]; j++)
            expect_number_error(r, never[j]);
    }
}
END_TEST

/* ---- peer link, failback ------------------------------------------------ */

START_TEST(valid_peer)
{
    struct config c;

    PARSE_OK(AGENT_TEXT "[agent]\npeer = web2.corp.example:7401\n"
             "peer_listen = 192.0.2.11:7501\n", &c);
    ck_assert_str_eq(c.peer.host, "web2.corp.example");
    ck_assert_uint_eq(c.peer.port, 7401);
    ck_assert_str_eq(c.peer_listen.host, "192.0.2.11");
    ck_assert_uint_eq(c.peer_listen.port, 7501);

    /* Without peer there is no peer link: port 0; peer_listen keeps its default. */
    PARSE_OK(AGENT_TEXT, &c);
    ck_assert_uint_eq(c.peer.port, 0);
    ck_assert_str_eq(c.peer_listen.host, "0.0.0.0");
    ck_assert_uint_eq(c.peer_listen.port, 7401);
    /* peer_listen may name every local address; peer may not (bad_values). */
    PARSE_OK(AGENT_TEXT "[agent]\npeer_listen = 0.0.0.0:9000\n", &c);
    ck_assert_uint_eq(c.peer_listen.port, 9000);
}
END_TEST

START_TEST(valid_preempt)
{
    struct config c;

    PARSE_OK(COORDINATOR_TEXT "[coordinator]\npreempt = yes\npreempt_delay_ms = 120000\n", &c);
    ck_assert_uint_eq(c.preempt, 1);
    ck_assert_uint_eq(c.preempt_delay_ms, 120000);
    PARSE_OK(COORDINATOR_TEXT "[coordinator]\npreempt = no\n", &c);
    ck_assert_uint_eq(c.preempt, 0);
    ck_assert_uint_eq(c.preempt_delay_ms, 60000);
}
END_TEST

/* ---- booleans ----------------------------------------------------------- */

START_TEST(bool_forms)
{
    static const struct { const char *text; uint8_t value; } forms[] = {
        { "yes", 1 }, { "YES", 1 }, { "Yes", 1 }, { "true", 1 }, { "TRUE", 1 }, { "True", 1 },
        { "1", 1 }, { "\"yes\"", 1 }, { "no", 0 }, { "NO", 0 }, { "No", 0 }, { "false", 0 },
        { "FALSE", 0 }, { "fAlSe", 0 }, { "0", 0 }, { "\"0\"", 0 },
    };
    size_t i;

    for (i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char text[512];
        struct config c;

        snprintf(text, sizeof text, COORDINATOR_TEXT "[coordinator]\npreempt = %s\n",
                 forms[i].text);
        PARSE_OK(text, &c);
        ck_assert_uint_eq(c.preempt, forms[i].value);

        snprintf(text, sizeof text, AGENT_TEXT "[application]\npath = C:\\a.exe\nstart = %s\n",
                 forms[i].text);
        PARSE_OK(text, &c);
        ck_assert_uint_eq(c.app_start, forms[i].value);

        /* allow_unauthenticated = no beside a key is no contradiction. */
        if (forms[i].value == 0) {
            snprintf(text, sizeof text, COORDINATOR_TEXT "[security]\n"
                     "allow_unauthenticated = %s\n", forms[i].text);
            PARSE_OK(text, &c);
            ck_assert_uint_eq(c.allow_unauthenticated, 0);
        } else {
            snprintf(text, sizeof text, COORDINATOR_BODY "[security]\n"
                     "allow_unauthenticated = %s\n", forms[i].text);
            PARSE_OK(text, &c);
            ck_assert_uint_eq(c.allow_unauthenticated, 1);
        }
    }
}
END_TEST

START_TEST(err_bool)
{
    static const char *const bad[] = { "y", "n", "on", "off", "2", "01", "yes please",
                                       "enabled", "", "-1", "t" };
    static const char *const where[][2] = {
        { "coordinator", "preempt" },
        { "application", "start" },
        { "security", "allow_unauthenticated" },
    };
    size_t i, j;

    for (j = 0; j < sizeof where / sizeof where[0]; j++) {
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char text[256], prefix[96], detail[128];
            snprintf(text, sizeof text, "[%s]\n%s = %s\n", where[j][0], where[j][1], bad[i]);
            snprintf(prefix, sizeof prefix, FILE_NAME ":2: [%s] %s: ", where[j][0],
                     where[j][1]);
            snprintf(detail, sizeof detail, "'%s' is not yes or no; use yes, no, true, false, "
                     "1 or 0", bad[i]);
            EXPECT_ERR(text, prefix, detail);
        }
    }
}
END_TEST

/* ---- [nlb] backends ----------------------------------------------------- */

/* An agent's config with [nlb] given by the caller (the section's header
 * included), so that each backend's needs can be shown. */
#define AGENT_NO_NLB                                                            \
    SECURITY_TEXT                                                               \
    "[nlbctld]\n"                                                               \
    "role = agent\n"                                                            \
    "[agent]\n"                                                                 \
    "node = web1\n"                                                             \
    "coordinator = 192.0.2.5:7400\n"

START_TEST(nlb_backends)
{
    static const struct { const char *text, *want; } forms[] = {
        { "wmi", "wmi" }, { "WMI", "wmi" }, { "\"wmi\"", "wmi" }, { "exec", "exec" },
        { "Exec", "exec" }, { "EXEC", "exec" }, { "sim", "sim" }, { "Sim", "sim" },
        { "\"sim\"", "sim" },
    };
    struct config c;
    size_t i;

    /* Named or not, wmi needs no more than vip and port. */
    PARSE_OK(AGENT_NO_NLB "[nlb]\nvip = 192.0.2.10\nport = 5060\n", &c);
    ck_assert_str_eq(c.backend, "wmi");
    ck_assert_str_eq(c.sim_dir, "");
    ck_assert_str_eq(c.cluster_ip, "");
    ck_assert_str_eq(c.exec_command, "nlb.exe %ACTION% %VIP%:%PORT%");
    ck_assert_str_eq(c.exec_query, "nlb.exe queryport %VIP%:%PORT%");
    ck_assert_uint_eq(c.drain_ms, 0);
    PARSE_OK(AGENT_NO_NLB "[nlb]\nbackend = wmi\nvip = 192.0.2.10\nport = 5060\n", &c);
    ck_assert_str_eq(c.backend, "wmi");
    /* exec runs its default commands when it is given none. */
    PARSE_OK(AGENT_NO_NLB "[nlb]\nbackend = exec\nvip = 192.0.2.10\nport = 5060\n", &c);
    ck_assert_str_eq(c.backend, "exec");
    ck_assert_str_eq(c.exec_command, "nlb.exe %ACTION% %VIP%:%PORT%");
    ck_assert_str_eq(c.exec_query, "nlb.exe queryport %VIP%:%PORT%");
    /* sim still needs its folder. */
    PARSE_OK(AGENT_NO_NLB "[nlb]\nbackend = sim\nvip = 192.0.2.10\nport = 5060\n"
             "sim_dir = C:\\sim\n", &c);
    ck_assert_str_eq(c.backend, "sim");
    ck_assert_str_eq(c.sim_dir, "C:\\sim");
    EXPECT_ERR(AGENT_NO_NLB "[nlb]\nbackend = sim\nvip = 192.0.2.10\nport = 5060\n",
               FILE_NAME ": [nlb] sim_dir: ", "required when role = agent and backend = sim");
    EXPECT_ERR(AGENT_NO_NLB "[nlb]\nbackend = SIM\nvip = 192.0.2.10\nport = 5060\n",
               FILE_NAME ": [nlb] sim_dir: ", "required when role = agent and backend = sim");
    /* A sim_dir beside another backend is unused, not an error. */
    PARSE_OK(AGENT_NO_NLB "[nlb]\nbackend = exec\nvip = 192.0.2.10\nport = 5060\n"
             "sim_dir = C:\\sim\n", &c);
    ck_assert_str_eq(c.backend, "exec");

    /* Any case, quoted or not; stored in lower case. */
    for (i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, AGENT_NO_NLB "[nlb]\nbackend = %s\nvip = 192.0.2.10\n"
                 "port = 5060\nsim_dir = s\n", forms[i].text);
        PARSE_OK(text, &c);
        ck_assert_str_eq(c.backend, forms[i].want);
    }
    /* backend may be set only once. */
    EXPECT_ERR("[nlb]\nbackend = wmi\nbackend = sim\n", FILE_NAME ":3: [nlb] backend: ",
               "set twice (first on line 2)");
}
END_TEST

START_TEST(nlb_cluster_ip_and_drain)
{
    struct config c;

    /* cluster_ip picks the cluster; it need not be the vip. */
    PARSE_OK(AGENT_NO_NLB "[nlb]\nvip = 192.0.2.10\nport = 5060\ncluster_ip = 192.0.2.9\n",
             &c);
    ck_assert_str_eq(c.cluster_ip, "192.0.2.9");
    ck_assert_str_eq(c.vip, "192.0.2.10");
    PARSE_OK(AGENT_NO_NLB "[nlb]\nvip = 192.0.2.10\nport = 5060\n"
             "cluster_ip = \"192.0.2.10\"\n", &c);
    ck_assert_str_eq(c.cluster_ip, "192.0.2.10");
    EXPECT_ERR("[nlb]\ncluster_ip = 192.0.2.9\nCluster_IP = 192.0.2.9\n",
               FILE_NAME ":3: [nlb] cluster_ip: ", "set twice (first on line 2)");

    /* drain_ms: 0 (the default) means no drain; SIP over TCP wants some. */
    PARSE_OK(AGENT_TEXT "drain_ms = 30000\n", &c);
    ck_assert_uint_eq(c.drain_ms, 30000);
    PARSE_OK(AGENT_NO_NLB "[nlb]\nbackend = exec\nvip = 192.0.2.10\nport = 5060\n"
             "drain_ms = \"0\"\n", &c);
    ck_assert_uint_eq(c.drain_ms, 0);
    EXPECT_ERR(AGENT_TEXT "drain_ms = 3600001\n", FILE_NAME ":13: [nlb] drain_ms: ",
               "'3600001' is not a number from 0 to 3600000");
    EXPECT_ERR(AGENT_TEXT "drain_ms = -1\n", FILE_NAME ":13: [nlb] drain_ms: ",
               "'-1' is not a number from 0 to 3600000");
}
END_TEST

START_TEST(nlb_exec_commands)
{
    struct config c;

    /* Taken exactly as written: quotes, %PLACEHOLDERS%, other % and
     * backslashes are the command's; only the spaces around go. */
    PARSE_OK(AGENT_NO_NLB "[nlb]\nbackend = exec\nvip = 192.0.2.10\nport = 5060\n"
             "exec_command =   \"C:\\Program Files\\Site\\nlb ctl.cmd\" %ACTION% %VIP% %PORT% "
             "--log \"%TEMP%\\nlb.log\" 100%  \n"
             "exec_query = wlbs.exe queryport %VIP%:%PORT%\n", &c);
    ck_assert_str_eq(c.backend, "exec");
    ck_assert_str_eq(c.exec_command, "\"C:\\Program Files\\Site\\nlb ctl.cmd\" %ACTION% %VIP% "
                     "%PORT% --log \"%TEMP%\\nlb.log\" 100%");
    ck_assert_str_eq(c.exec_query, "wlbs.exe queryport %VIP%:%PORT%");

    /* A value wholly in quotes keeps them: they quote the program. */
    PARSE_OK(AGENT_NO_NLB "[nlb]\nbackend = exec\nvip = 192.0.2.10\nport = 5060\n"
             "exec_command = \"C:\\Scripts\\nlbctl.cmd\"\n"
             "exec_query = \"C:\\Scripts\\nlbctl.cmd\" query %VIP% %PORT%\n", &c);
    ck_assert_str_eq(c.exec_command, "\"C:\\Scripts\\nlbctl.cmd\"");
    ck_assert_str_eq(c.exec_query, "\"C:\\Scripts\\nlbctl.cmd\" query %VIP% %PORT%");

    /* The site-script form of the example file, and wlbs.exe's. */
    PARSE_OK(AGENT_NO_NLB "[nlb]\nbackend = exec\nvip = 192.0.2.10\nport = 5060\n"
             "exec_command = C:\\Scripts\\nlbctl.cmd %ACTION% %VIP% %PORT%\n"
             "exec_query = C:\\Scripts\\nlbctl.cmd query %VIP% %PORT%\n", &c);
    ck_assert_str_eq(c.exec_command, "C:\\Scripts\\nlbctl.cmd %ACTION% %VIP% %PORT%");
    ck_assert_str_eq(c.exec_query, "C:\\Scripts\\nlbctl.cmd query %VIP% %PORT%");
    PARSE_OK(AGENT_NO_NLB "[nlb]\nbackend = exec\nvip = 192.0.2.10\nport = 5060\n"
             "exec_command = wlbs.exe %ACTION% %VIP%:%PORT%\n", &c);
    ck_assert_str_eq(c.exec_command, "wlbs.exe %ACTION% %VIP%:%PORT%");
    ck_assert_str_eq(c.exec_query, "nlb.exe queryport %VIP%:%PORT%");

    /* Non-ASCII text (a path in a localised folder) is fine. */
    PARSE_OK(AGENT_TEXT "exec_query = C:\\Scripts\\\xc3\xa9tat.cmd %VIP%\n", &c);
    ck_assert_str_eq(c.exec_query, "C:\\Scripts\\\xc3\xa9tat.cmd %VIP%");

    /* Accepted beside another backend, or in a coordinator's file. */
    PARSE_OK(COORDINATOR_TEXT "[nlb]\nexec_command = x %ACTION%\nexec_query = y\n", &c);
    ck_assert_str_eq(c.exec_command, "x %ACTION%");
    ck_assert_str_eq(c.exec_query, "y");

    EXPECT_ERR("[nlb]\nexec_query = a\nEXEC_QUERY = b\n", FILE_NAME ":3: [nlb] exec_query: ",
               "set twice (first on line 2)");
}
END_TEST

START_TEST(err_exec_too_long)
{
    static const char *const keys[] = { "exec_command", "exec_query" };
    char text[1024], prefix[64];
    struct config c;
    char *ok = make_line(511, "x", 'a');
    char *bad = make_line(512, "x", 'a');
    size_t i;

    for (i = 0; i < 2; i++) {
        snprintf(text, sizeof text, AGENT_TEXT "%s = %s\n", keys[i], ok);
        PARSE_OK(text, &c);
        ck_assert_str_eq(i == 0 ? c.exec_command : c.exec_query, ok);
        snprintf(prefix, sizeof prefix, FILE_NAME ":2: [nlb] %s: ", keys[i]);
        snprintf(text, sizeof text, "[nlb]\n%s = %s\n", keys[i], bad);
        EXPECT_ERR(text, prefix, "is 512 bytes long; at most 511");
        /* Quotes are kept, so they count: 510 characters and two quotes. */
        snprintf(text, sizeof text, "[nlb]\n%s = \"%s\"\n", keys[i], ok + 1);
        EXPECT_ERR(text, prefix, "is 512 bytes long; at most 511");
    }
    free(ok);
    free(bad);
}
END_TEST

/* ---- [application] ------------------------------------------------------ */

START_TEST(application_none)
{
    struct config c;

    /* Nothing set: no monitor, and an empty section changes nothing. */
    PARSE_OK(AGENT_TEXT "[application]\n; nothing here\n", &c);
    ck_assert_str_eq(c.app_service, "");
    ck_assert_str_eq(c.app_path, "");
    ck_assert_str_eq(c.app_args, "");
    ck_assert_uint_eq(c.app_start, 1);
}
END_TEST

START_TEST(application_service)
{
    struct config c;

    /* Service names may hold spaces and other punctuation. */
    PARSE_OK(AGENT_TEXT "[application]\nservice = Sip Server (x64) $1\n", &c);
    ck_assert_str_eq(c.app_service, "Sip Server (x64) $1");
    ck_assert_str_eq(c.app_path, "");
    PARSE_OK(AGENT_TEXT "[Application]\nService = \"SipSrv\"\n", &c);
    ck_assert_str_eq(c.app_service, "SipSrv");
}
END_TEST

START_TEST(application_program)
{
    struct config c;

    PARSE_OK(AGENT_TEXT "[application]\n"
             "path = \"C:\\Program Files\\Example\\sipd.exe\"\n"
             "args = -c \"C:\\ProgramData\\Example\\sip d.cfg\" --name='x y' %TEMP% \n"
             "start = no\n", &c);
    ck_assert_str_eq(c.app_path, "C:\\Program Files\\Example\\sipd.exe");
    /* args is taken as written: its quotes are the program's. Only the
     * spaces around the value go. */
    ck_assert_str_eq(c.app_args, "-c \"C:\\ProgramData\\Example\\sip d.cfg\" --name='x y' %TEMP%");
    ck_assert_uint_eq(c.app_start, 0);

    /* One quoted argument keeps its quotes. */
    PARSE_OK(AGENT_TEXT "[application]\npath = C:\\a.exe\nargs = \"C:\\x y\\z.cfg\"\n", &c);
    ck_assert_str_eq(c.app_args, "\"C:\\x y\\z.cfg\"");
    ck_assert_uint_eq(c.app_start, 1);
    /* Empty arguments are allowed ("" is two quote characters, passed on). */
    PARSE_OK(AGENT_TEXT "[application]\npath = C:\\a.exe\nargs =\n", &c);
    ck_assert_str_eq(c.app_args, "");
    PARSE_OK(AGENT_TEXT "[application]\npath = C:\\a.exe\nargs = \"\"\n", &c);
    ck_assert_str_eq(c.app_args, "\"\"");
    /* Non-ASCII text is fine. */
    PARSE_OK(AGENT_TEXT "[application]\npath = C:\\a.exe\nargs = --nom=\xc3\xa9t\xc3\xa9\n", &c);
    ck_assert_str_eq(c.app_args, "--nom=\xc3\xa9t\xc3\xa9");
}
END_TEST

START_TEST(err_args_too_long)
{
    char text[1024];
    struct config c;
    char *ok = make_line(511, "-", 'a');
    char *bad = make_line(512, "-", 'a');

    snprintf(text, sizeof text, AGENT_TEXT "[application]\npath = C:\\a.exe\nargs = %s\n", ok);
    PARSE_OK(text, &c);
    ck_assert_str_eq(c.app_args, ok);
    snprintf(text, sizeof text, "[application]\npath = C:\\a.exe\nargs = %s\n", bad);
    EXPECT_ERR(text, FILE_NAME ":3: [application] args: ", "is 512 bytes long; at most 511");
    free(ok);
    free(bad);
}
END_TEST

START_TEST(err_application_rules)
{
    /* service and path exclude each other; the message names both lines. */
    EXPECT_ERR(AGENT_TEXT "[application]\nservice = SipSrv\npath = C:\\sipd.exe\n",
               FILE_NAME ": [application] path: ",
               "service (line 14) and path (line 15) are both set; monitor either a Windows "
               "service (service) or a program (path), not both");
    EXPECT_ERR(AGENT_TEXT "[application]\npath = C:\\sipd.exe\nservice = SipSrv\n",
               FILE_NAME ": [application] path: ", "service (line 15) and path (line 14)");
    /* args and start belong to a program. */
    EXPECT_ERR(AGENT_TEXT "[application]\nargs = -v\n", FILE_NAME ": [application] args: ",
               "set on line 14 without path; args and start apply only to a program named "
               "by path");
    EXPECT_ERR(AGENT_TEXT "[application]\nargs =\n", FILE_NAME ": [application] args: ",
               "without path");
    EXPECT_ERR(AGENT_TEXT "[application]\nstart = no\n", FILE_NAME ": [application] start: ",
               "set on line 14 without path");
    EXPECT_ERR(AGENT_TEXT "[application]\nservice = SipSrv\nstart = yes\n",
               FILE_NAME ": [application] start: ", "set on line 15 without path");
    EXPECT_ERR(AGENT_TEXT "[application]\nservice = SipSrv\nargs = -v\n",
               FILE_NAME ": [application] args: ", "without path");
    /* A contradiction is refused whatever the role. */
    EXPECT_ERR(COORDINATOR_TEXT "[application]\nservice = a\npath = b\n",
               FILE_NAME ": [application] path: ", "are both set");
}
END_TEST

/* ---- encodings ---------------------------------------------------------- */

START_TEST(err_not_utf8)
{
    /* A path typed in an ANSI code page (Windows-1252 e-acute). */
    EXPECT_ERR(COORDINATOR_TEXT "[application]\npath = C:\\Caf\xe9\\sip.exe\n",
               FILE_NAME ":9: [application]: ", "byte 14 of the line (0xE9) is not UTF-8");
    /* A name with a byte that cannot start a character. */
    EXPECT_ERR("[nlbctld]\nrole = agent\n[pair]\nnode1 = w\x80x\n",
               FILE_NAME ":4: [pair]: ", "is not UTF-8: save the file as UTF-8");
    /* Notepad's "Unicode" (UTF-16 LE with its byte order mark). */
    static const char utf16[] = "\xff\xfe[\0n\0";
    EXPECT_ERR_LEN(utf16, sizeof utf16 - 1, FILE_NAME ": ", "saved as UTF-16");
    /* Valid UTF-8 is fine, in a path and after Notepad's UTF-8 mark. */
    struct config c;
    PARSE_OK("\xef\xbb\xbf" COORDINATOR_TEXT "[application]\npath = C:\\Caf\xc3\xa9\\s.exe\n", &c);
    ck_assert_str_eq(c.app_path, "C:\\Caf\xc3\xa9\\s.exe");
}
END_TEST

/* ---- [sip_monitor] ----------------------------------------------------- */

START_TEST(sip_monitor_section)
{
    struct config c;
    PARSE_OK(COORDINATOR_TEXT, &c);
    ck_assert_uint_eq(c.mon_node1.port, 0); /* off by default */
    ck_assert_uint_eq(c.mon_interval_ms, 1000);
    ck_assert_uint_eq(c.mon_timeout_ms, 500);
    ck_assert_uint_eq(c.mon_rise, 2);
    ck_assert_uint_eq(c.mon_fall, 3);
    PARSE_OK(COORDINATOR_TEXT "[sip_monitor]\nnode1 = 192.0.2.11:5060\nnode2 = 192.0.2.12:5060\n"
                              "vip = 192.0.2.10:5060\ninterval_ms = 200\ntimeout_ms = 150\n"
                              "rise = 1\nfall = 5\n",
             &c);
    ck_assert_str_eq(c.mon_node2.host, "192.0.2.12");
    ck_assert_uint_eq(c.mon_vip.port, 5060);
    ck_assert_uint_eq(c.mon_interval_ms, 200);
    ck_assert_uint_eq(c.mon_fall, 5);
    EXPECT_ERR(COORDINATOR_TEXT "[sip_monitor]\nnode1 = 192.0.2.11:5060\n",
               FILE_NAME ": [sip_monitor] node2: ", "required once node1 is set (line 9)");
    EXPECT_ERR(COORDINATOR_TEXT "[sip_monitor]\nnode2 = 192.0.2.12:5060\n",
               FILE_NAME ": [sip_monitor] node1: ", "required once node2 is set");
    EXPECT_ERR(COORDINATOR_TEXT "[sip_monitor]\nvip = 192.0.2.10:5060\n",
               FILE_NAME ": [sip_monitor] vip: ", "without node1 and node2");
    EXPECT_ERR(COORDINATOR_TEXT "[sip_monitor]\nnode1 = a:1\nnode2 = b:1\ninterval_ms = 500\n"
                                "timeout_ms = 500\n",
               FILE_NAME ": [sip_monitor] timeout_ms: ", "less than interval_ms 500 ms");
    EXPECT_ERR(COORDINATOR_TEXT "[sip_monitor]\nnode1 = 192.0.2.11\n",
               FILE_NAME ":9: [sip_monitor] node1: ", "");
    EXPECT_ERR(COORDINATOR_TEXT "[sip_monitor]\nfall = 0\n", FILE_NAME ":9: [sip_monitor] fall: ",
               "from 1 to 100");
}
END_TEST

/* ---- the timing rules --------------------------------------------------- */

START_TEST(timing_valid)
{
    struct config c;

    /* The defaults keep both rules: 1500 + 600 + 200 = 2300 < 500 x 5. */
    PARSE_OK(AGENT_TEXT, &c);
    ck_assert_uint_lt(c.isolation_ms + c.nlb_timeout_ms + c.max_delay_ms,
                      c.heartbeat_ms * c.miss_count);
    ck_assert_uint_ge(c.isolation_ms, 2 * c.heartbeat_ms);

    PARSE_OK(AGENT_TEXT "[timing]\nheartbeat_ms = 1000\nmiss_count = 3\nisolation_ms = 2000\n"
             "nlb_timeout_ms = 800\nmax_delay_ms = 199\n", &c);
    ck_assert_uint_eq(c.heartbeat_ms, 1000);
    ck_assert_uint_eq(c.miss_count, 3);
    ck_assert_uint_eq(c.isolation_ms, 2000);
    ck_assert_uint_eq(c.nlb_timeout_ms, 800);
    ck_assert_uint_eq(c.max_delay_ms, 199);
    /* Rule 1 is strict: one ms below the host-loss timeout is enough... */
    PARSE_OK(AGENT_TEXT "[timing]\nisolation_ms = 1699\n", &c);
    /* ... and rule 2 is not: exactly twice the heartbeat is enough. */
    PARSE_OK(AGENT_TEXT "[timing]\nheartbeat_ms = 1000\nisolation_ms = 2000\n", &c);
    /* Every figure at its maximum. */
    PARSE_OK(AGENT_TEXT "[timing]\nheartbeat_ms = 60000\nmiss_count = 100\n"
             "isolation_ms = 600000\nnlb_timeout_ms = 600000\nmax_delay_ms = 60000\n", &c);
    ck_assert_uint_eq(c.heartbeat_ms * c.miss_count, 6000000);
}
END_TEST

START_TEST(err_timing_fencing_rule)
{
    /* The message gives every figure, its sum and its product. */
    EXPECT_ERR(AGENT_TEXT "[timing]\nheartbeat_ms = 400\n", FILE_NAME ": [timing] isolation_ms: ",
               "1500 + nlb_timeout_ms 600 + max_delay_ms 200 = 2300 ms must be less than "
               "heartbeat_ms 400 x miss_count 5 = 2000 ms, so that a primary cut off from "
               "everything has disabled its port before the coordinator promotes the other "
               "node; lower isolation_ms, nlb_timeout_ms or max_delay_ms, or raise "
               "heartbeat_ms or miss_count");
    /* Equal is not less. */
    EXPECT_ERR(AGENT_TEXT "[timing]\nisolation_ms = 1700\n", FILE_NAME ": [timing] isolation_ms: ",
               "1700 + nlb_timeout_ms 600 + max_delay_ms 200 = 2500 ms must be less than "
               "heartbeat_ms 500 x miss_count 5 = 2500 ms");
    EXPECT_ERR(AGENT_TEXT "[timing]\nmiss_count = 4\n", FILE_NAME ": [timing] isolation_ms: ",
               "= 2300 ms must be less than heartbeat_ms 500 x miss_count 4 = 2000 ms");
    EXPECT_ERR(AGENT_TEXT "[timing]\nnlb_timeout_ms = 900\n",
               FILE_NAME ": [timing] isolation_ms: ",
               "1500 + nlb_timeout_ms 900 + max_delay_ms 200 = 2600 ms must be less than "
               "heartbeat_ms 500 x miss_count 5 = 2500 ms");
    EXPECT_ERR(AGENT_TEXT "[timing]\nmax_delay_ms = 60000\n",
               FILE_NAME ": [timing] isolation_ms: ",
               "1500 + nlb_timeout_ms 600 + max_delay_ms 60000 = 62100 ms must be less than "
               "heartbeat_ms 500 x miss_count 5 = 2500 ms");
    /* The largest figures, summed without overflow. */
    EXPECT_ERR(AGENT_TEXT "[timing]\nheartbeat_ms = 60000\nmiss_count = 21\n"
               "isolation_ms = 600000\nnlb_timeout_ms = 600000\nmax_delay_ms = 60000\n",
               FILE_NAME ": [timing] isolation_ms: ",
               "600000 + nlb_timeout_ms 600000 + max_delay_ms 60000 = 1260000 ms must be less "
               "than heartbeat_ms 60000 x miss_count 21 = 1260000 ms");
    /* The coordinator is held to it too: it uses the host-loss timeout. */
    EXPECT_ERR(COORDINATOR_TEXT "[timing]\nmiss_count = 3\n",
               FILE_NAME ": [timing] isolation_ms: ", "x miss_count 3 = 1500 ms");
}
END_TEST

START_TEST(err_timing_isolation_rule)
{
    EXPECT_ERR(AGENT_TEXT "[timing]\nheartbeat_ms = 1000\nisolation_ms = 1999\n",
               FILE_NAME ": [timing] isolation_ms: ",
               "1999 ms is less than 2 x heartbeat_ms 1000 = 2000 ms; it must be at least "
               "that, or one late heartbeat would make a healthy primary disable its own port");
    EXPECT_ERR(AGENT_TEXT "[timing]\nisolation_ms = 999\n",
               FILE_NAME ": [timing] isolation_ms: ",
               "999 ms is less than 2 x heartbeat_ms 500 = 1000 ms");
    EXPECT_ERR(COORDINATOR_TEXT "[timing]\nheartbeat_ms = 60000\nmiss_count = 100\n",
               FILE_NAME ": [timing] isolation_ms: ",
               "1500 ms is less than 2 x heartbeat_ms 60000 = 120000 ms");
}
END_TEST

/* ---- [security] --------------------------------------------------------- */

START_TEST(security_key)
{
    static const uint8_t want[32] = {
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
        0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
        0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
    };
    char text[512];
    struct config c;
    char *hex;
    size_t i;

    PARSE_OK(AGENT_TEXT, &c);
    ck_assert_uint_eq(c.key_len, 32);
    ck_assert_int_eq(memcmp(c.key, want, sizeof want), 0);
    for (i = 32; i < sizeof c.key; i++)
        ck_assert_uint_eq(c.key[i], 0);
    ck_assert_str_eq(c.key_file, "");
    ck_assert_uint_eq(c.allow_unauthenticated, 0);

    /* The shortest and the longest keys. */
    hex = make_line(32, "A", 'f');
    snprintf(text, sizeof text, COORDINATOR_BODY "[security]\nkey = %s\n", hex);
    PARSE_OK(text, &c);
    ck_assert_uint_eq(c.key_len, 16);
    ck_assert_uint_eq(c.key[0], 0xaf);
    ck_assert_uint_eq(c.key[15], 0xff);
    free(hex);
    hex = make_line(128, "0", '9');
    snprintf(text, sizeof text, COORDINATOR_BODY "[security]\nkey = \"%s\"\n", hex);
    PARSE_OK(text, &c);
    ck_assert_uint_eq(c.key_len, 64);
    ck_assert_uint_eq(c.key[0], 0x09);
    ck_assert_uint_eq(c.key[63], 0x99);
    free(hex);
}
END_TEST

START_TEST(security_key_file_and_lab)
{
    struct config c;

    PARSE_OK(COORDINATOR_BODY "[security]\nkey_file = C:\\ProgramData\\nlbctl\\psk.txt\n", &c);
    ck_assert_str_eq(c.key_file, "C:\\ProgramData\\nlbctl\\psk.txt");
    ck_assert_uint_eq(c.key_len, 0);

    /* A lab without a key must say so. */
    PARSE_OK(AGENT_BODY "[security]\nallow_unauthenticated = yes\n", &c);
    ck_assert_uint_eq(c.allow_unauthenticated, 1);
    ck_assert_uint_eq(c.key_len, 0);
    ck_assert_str_eq(c.key_file, "");
}
END_TEST

START_TEST(security_status_group)
{
    struct config c;
    char text[1024];
    char *big = make_line(256, "G", 'g');

    PARSE_OK(AGENT_TEXT "[security]\nstatus_group = CORP\\NLB Operators\n", &c);
    ck_assert_str_eq(c.status_group, "CORP\\NLB Operators");
    PARSE_OK(COORDINATOR_TEXT "[security]\nstatus_group = \"Opérateurs NLB\"\n", &c);
    ck_assert_str_eq(c.status_group, "Opérateurs NLB");
    snprintf(text, sizeof text, COORDINATOR_TEXT "[security]\nstatus_group = %s\n", big);
    PARSE_OK(text, &c);
    ck_assert_uint_eq(strlen(c.status_group), 256);
    free(big);
}
END_TEST

START_TEST(err_security_rules)
{
    /* No key at all: for an agent and for the coordinator, and whatever
     * else is in [security]. */
    EXPECT_ERR(AGENT_BODY, FILE_NAME ": [security] key: ",
               "no pre-shared key configured; set key (64 hex digits recommended) or key_file "
               "on every node and the coordinator (allow_unauthenticated = yes exists for a "
               "lab only)");
    EXPECT_ERR(COORDINATOR_BODY, FILE_NAME ": [security] key: ", "no pre-shared key configured");
    EXPECT_ERR(COORDINATOR_BODY "[security]\nallow_unauthenticated = no\nstatus_group = x\n",
               FILE_NAME ": [security] key: ", "no pre-shared key configured");
    /* Both ways of giving the key: the message names both lines. */
    EXPECT_ERR(COORDINATOR_TEXT "[security]\nkey_file = C:\\psk.txt\n",
               FILE_NAME ": [security] key_file: ",
               "key (line 2) and key_file (line 9) are both set; give the pre-shared key one "
               "way only");
    /* A key and "no key needed" contradict each other. */
    EXPECT_ERR(COORDINATOR_TEXT "[security]\nallow_unauthenticated = yes\n",
               FILE_NAME ": [security] allow_unauthenticated: ",
               "yes contradicts key (line 2): with a key every link is authenticated; remove "
               "one of the two");
    EXPECT_ERR(AGENT_BODY "[security]\nallow_unauthenticated = true\nkey_file = k.txt\n",
               FILE_NAME ": [security] allow_unauthenticated: ", "yes contradicts key_file "
               "(line 13)");
    /* The key's value is never in the message, even in these. */
    {
        char e[CONFIG_ERROR_MAX];
        static const char text[] = COORDINATOR_TEXT "[security]\nallow_unauthenticated = 1\n";
        ck_assert_int_eq(parse_text(text, strlen(text), NULL, e), -1);
        ck_assert_ptr_null(strstr(e, "00112233"));
    }
}
END_TEST

/* The message must start with prefix, contain detail, and hold no part of
 * the secret: no run of 6 of its characters, in either case. */
static void expect_key_error(const char *text, const char *prefix, const char *detail,
                             const char *secret)
{
    char e[CONFIG_ERROR_MAX], low[CONFIG_ERROR_MAX], run[8];
    size_t i, j, n = strlen(secret);

    EXPECT_ERR(text, prefix, detail);
    ck_assert_int_eq(parse_text(text, strlen(text), NULL, e), -1);
    for (i = 0; e[i]; i++)
        low[i] = (char)((e[i] >= 'A' && e[i] <= 'Z') ? e[i] - 'A' + 'a' : e[i]);
    low[i] = '\0';
    for (i = 0; i + 6 <= n; i++) {
        for (j = 0; j < 6; j++)
            run[j] = (char)((secret[i + j] >= 'A' && secret[i + j] <= 'Z')
                                ? secret[i + j] - 'A' + 'a' : secret[i + j]);
        run[6] = '\0';
        ck_assert_msg(strstr(low, run) == NULL, "message '%s' shows part of the key ('%s')",
                      e, run);
    }
}

START_TEST(err_key_values)
{
    char text[512], *hex;

    /* Not hex: the position is given, not the character or the value. */
    expect_key_error("; x\n[security]\nkey = c0ffee5eed0ddba11c0ffee5eed0ddbg\n",
                     FILE_NAME ":3: [security] key: ",
                     "character 32 of 32 is not a hex digit (0-9, a-f); the key is not shown",
                     "c0ffee5eed0ddba11c0ffee5eed0ddbg");
    expect_key_error("; x\n[security]\nkey = c0ffee5eed 0ddba11c0ffee5eed0ddba1\n",
                     FILE_NAME ":3: [security] key: ", "character 11 of 34 is not a hex digit",
                     "c0ffee5eed 0ddba11c0ffee5eed0ddba1");
    expect_key_error("; x\n[security]\nkey = 0xc0ffee5eed0ddba11c0ffee5eed0ddba1\n",
                     FILE_NAME ":3: [security] key: ",
                     "starts with 0x; write the hex digits alone (the key is not shown)",
                     "c0ffee5eed0ddba11c0ffee5eed0ddba1");
    expect_key_error("; x\n[security]\nkey = C0FFEE5EED-0DDBA11-C0FFEE5EED-0DDBA11\n",
                     FILE_NAME ":3: [security] key: ", "character 11 of 37 is not a hex digit",
                     "C0FFEE5EED-0DDBA11-C0FFEE5EED-0DDBA11");
    /* Odd counts. */
    expect_key_error("; x\n[security]\nkey = c0ffee5eed0ddba11c0ffee5eed0ddba1\n",
                     FILE_NAME ":3: [security] key: ",
                     "has 33 hex digits, an odd number; each byte takes two (the key is not "
                     "shown)", "c0ffee5eed0ddba11c0ffee5eed0ddba1");
    hex = make_line(129, "c0ffee5eed", 'd');
    snprintf(text, sizeof text, "[security]\nkey = %s\n", hex);
    expect_key_error(text, FILE_NAME ":2: [security] key: ", "has 129 hex digits, an odd number",
                     hex);
    free(hex);
    /* Too short, too long. */
    expect_key_error("[security]\nkey = c0ffee5eed0ddba11c0ffee5eed0dd\n",
                     FILE_NAME ":2: [security] key: ",
                     "has 30 hex digits (15 bytes); give 32 to 128 hex digits (16 to 64 bytes), "
                     "64 recommended (the key is not shown)",
                     "c0ffee5eed0ddba11c0ffee5eed0dd");
    expect_key_error("[security]\nkey = \"c0ffee\"\n", FILE_NAME ":2: [security] key: ",
                     "has 6 hex digits (3 bytes)", "c0ffee");
    hex = make_line(130, "c0ffee5eed", 'd');
    snprintf(text, sizeof text, "[security]\nkey = %s\n", hex);
    expect_key_error(text, FILE_NAME ":2: [security] key: ",
                     "has 130 hex digits (65 bytes); give 32 to 128", hex);
    free(hex);
    /* Empty. */
    EXPECT_ERR("[security]\nkey =\n", FILE_NAME ":2: [security] key: ",
               "is empty; give the pre-shared key as 32 to 128 hex digits (64 recommended)");
    EXPECT_ERR("[security]\nkey = \"\"\n", FILE_NAME ":2: [security] key: ", "is empty");
    /* Other errors on a key line show nothing of it either. */
    expect_key_error("[security]\nkey = \"c0ffee5eed0ddba11c0ffee5eed0ddba11\n",
                     FILE_NAME ":2: [security] key: ", "opening '\"' has no closing '\"'",
                     "c0ffee5eed0ddba11c0ffee5eed0ddba11");
    expect_key_error("[security]\nkey = c0ffee5eed0ddba11c0ffee5eed0ddba11\n"
                     "key = c0ffee5eed0ddba11c0ffee5eed0ddba11\n",
                     FILE_NAME ":3: [security] key: ", "set twice (first on line 2)",
                     "c0ffee5eed0ddba11c0ffee5eed0ddba11");
    expect_key_error("[security]\nkey c0ffee5eed0ddba11c0ffee5eed0ddba11\n",
                     FILE_NAME ":2: [security]: ",
                     "a line is not a [section], a comment (; or #) or key = value (not shown: "
                     "in [security] it may hold the key)",
                     "c0ffee5eed0ddba11c0ffee5eed0ddba11");
}
END_TEST

/* ---- errors found after reading ----------------------------------------- */

START_TEST(err_missing_required)
{
    EXPECT_ERR("", FILE_NAME ": [nlbctld] role: ", "required; use agent or coordinator");
    EXPECT_ERR("; nothing but a comment\n[nlbctld]\npipe = x\n",
               FILE_NAME ": [nlbctld] role: ", "required");

    EXPECT_ERR("[nlbctld]\nrole = agent\n[agent]\ncoordinator = h:1\n[nlb]\nvip = 192.0.2.1\n"
               "port = 1\nsim_dir = s\n",
               FILE_NAME ": [agent] node: ", "required when role = agent");
    EXPECT_ERR("[nlbctld]\nrole = agent\n[agent]\nnode = a\n[nlb]\nvip = 192.0.2.1\n"
               "port = 1\nsim_dir = s\n",
               FILE_NAME ": [agent] coordinator: ",
               "required when role = agent; expected host:port, e.g. 192.0.2.5:7400");
    EXPECT_ERR("[nlbctld]\nrole = agent\n[agent]\nnode = a\ncoordinator = h:1\n[nlb]\n"
               "port = 1\nsim_dir = s\n",
               FILE_NAME ": [nlb] vip: ", "required when role = agent");
    EXPECT_ERR("[nlbctld]\nrole = agent\n[agent]\nnode = a\ncoordinator = h:1\n[nlb]\n"
               "vip = 192.0.2.1\nsim_dir = s\n",
               FILE_NAME ": [nlb] port: ", "required when role = agent");
    EXPECT_ERR("[nlbctld]\nrole = agent\n[agent]\nnode = a\ncoordinator = h:1\n[nlb]\n"
               "backend = sim\nvip = 192.0.2.1\nport = 1\n",
               FILE_NAME ": [nlb] sim_dir: ", "required when role = agent and backend = sim");
    /* vip and port come before sim_dir, whatever the backend. */
    EXPECT_ERR("[nlbctld]\nrole = agent\n[agent]\nnode = a\ncoordinator = h:1\n[nlb]\n"
               "backend = sim\n",
               FILE_NAME ": [nlb] vip: ", "required when role = agent");
    EXPECT_ERR("[nlbctld]\nrole = agent\n[agent]\nnode = a\ncoordinator = h:1\n[nlb]\n"
               "backend = wmi\nvip = 192.0.2.1\n",
               FILE_NAME ": [nlb] port: ", "required when role = agent");
    /* Only sim needs sim_dir: with the default (wmi) or exec, the next
     * thing missing is the key. */
    EXPECT_ERR("[nlbctld]\nrole = agent\n[agent]\nnode = a\ncoordinator = h:1\n[nlb]\n"
               "vip = 192.0.2.1\nport = 1\n",
               FILE_NAME ": [security] key: ", "no pre-shared key configured");
    EXPECT_ERR("[nlbctld]\nrole = agent\n[agent]\nnode = a\ncoordinator = h:1\n[nlb]\n"
               "backend = exec\nvip = 192.0.2.1\nport = 1\n",
               FILE_NAME ": [security] key: ", "no pre-shared key configured");
    /* A coordinator does not drive NLB: backend = sim needs no sim_dir. */
    PARSE_OK(COORDINATOR_TEXT "[nlb]\nbackend = sim\n", &(struct config){ 0 });

    EXPECT_ERR("[nlbctld]\nrole = coordinator\n", FILE_NAME ": [pair] node1: ",
               "required when role = coordinator");
    EXPECT_ERR("[nlbctld]\nrole = coordinator\n[pair]\nnode1 = a\n",
               FILE_NAME ": [pair] node2: ", "required when role = coordinator");
    EXPECT_ERR("[nlbctld]\nrole = coordinator\n[pair]\nnode2 = b\n",
               FILE_NAME ": [pair] node1: ", "required when role = coordinator");
}
END_TEST

START_TEST(err_cross_checks)
{
    EXPECT_ERR("[nlbctld]\nrole = coordinator\n[pair]\nnode1 = web1\nnode2 = web1\n",
               FILE_NAME ": [pair] node2: ", "'web1' is node1 too; the two nodes must differ");
    EXPECT_ERR("[nlbctld]\nrole = coordinator\n[pair]\nnode1 = web1\nnode2 = WEB1\n",
               FILE_NAME ": [pair] node2: ", "must differ (and not only in case)");
    EXPECT_ERR(COORDINATOR_TEXT "preferred = web3\n", FILE_NAME ": [pair] preferred: ",
               "'web3' is neither node1 ('web1') nor node2 ('web2')");
    /* Names are compared exactly. */
    EXPECT_ERR(COORDINATOR_TEXT "preferred = WEB1\n", FILE_NAME ": [pair] preferred: ",
               "is neither node1");

    /* An agent that names the pair must be one of its nodes. */
    EXPECT_ERR(AGENT_TEXT "[pair]\nnode1 = web2\nnode2 = web3\n", FILE_NAME ": [agent] node: ",
               "'web1' is neither [pair] node1 ('web2') nor node2 ('web3')");
    PARSE_OK(AGENT_TEXT "[pair]\nnode1 = web2\nnode2 = web1\n", &(struct config){ 0 });
    /* ... and half a pair is a mistake, not an absent pair. */
    EXPECT_ERR(AGENT_TEXT "[pair]\nnode1 = web1\n", FILE_NAME ": [pair] node2: ",
               "required once [pair] names a node");
    EXPECT_ERR(AGENT_TEXT "[pair]\npreferred = web1\n", FILE_NAME ": [pair] node1: ",
               "required once [pair] names a node");
    /* A pair name alone is fine for an agent. */
    PARSE_OK(AGENT_TEXT "[pair]\nname = sip\n", &(struct config){ 0 });
}
END_TEST

/* ---- the error buffer and the output ------------------------------------ */

START_TEST(err_small_buffer)
{
    static const char text[] = "[nlb]\nport = abc\n";
    char buf[64];
    struct config c;
    size_t i;

    memset(buf, '#', sizeof buf);
    ck_assert_int_eq(config_parse(FILE_NAME, text, strlen(text), &c, buf, 8), -1);
    ck_assert_str_eq(buf, "t.ini:2");
    for (i = 8; i < sizeof buf; i++)
        ck_assert_int_eq(buf[i], '#');

    memset(buf, '#', sizeof buf);
    ck_assert_int_eq(config_parse(FILE_NAME, text, strlen(text), &c, buf, 1), -1);
    ck_assert_int_eq(buf[0], '\0');
    ck_assert_int_eq(buf[1], '#');

    memset(buf, '#', sizeof buf);
    ck_assert_int_eq(config_parse(FILE_NAME, text, strlen(text), &c, buf, 0), -1);
    ck_assert_int_eq(buf[0], '#');
    ck_assert_int_eq(config_parse(FILE_NAME, text, strlen(text), &c, NULL, 0), -1);

    /* A message longer than CONFIG_ERROR_MAX is cut, still terminated. */
    char file[700], big[CONFIG_ERROR_MAX + 16];
    memset(file, 'f', sizeof file - 1);
    file[sizeof file - 1] = '\0';
    memset(big, '#', sizeof big);
    ck_assert_int_eq(config_parse(file, text, strlen(text), &c, big, sizeof big), -1);
    ck_assert_uint_eq(strlen(big), CONFIG_ERROR_MAX - 1);

    /* A long bad value is shortened in the message. */
    char line[300], err[CONFIG_ERROR_MAX];
    char *nines = make_line(200, "9", '9');
    snprintf(line, sizeof line, "[nlb]\nport = %s\n", nines);
    free(nines);
    ck_assert_int_eq(config_parse(FILE_NAME, line, strlen(line), &c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "...' is not a number from 1 to 65535"));
    ck_assert_uint_lt(strlen(err), 150);
}
END_TEST

START_TEST(failure_leaves_cfg_alone)
{
    static const char text[] = AGENT_TEXT "[timing]\nheartbeat_ms = 1\n";
    struct config c, before;
    char err[CONFIG_ERROR_MAX];

    memset(&c, 0x5a, sizeof c);
    before = c;
    ck_assert_int_eq(parse_text(text, strlen(text), &c, err), -1);
    ck_assert_int_eq(memcmp(&c, &before, sizeof c), 0);

    /* NULL text with no length is an empty file; with a length, an error. */
    ck_assert_int_eq(parse_text(NULL, 0, &c, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "[nlbctld] role: required"));
    ck_assert_int_eq(parse_text(NULL, 5, &c, err), -1);
    ck_assert_int_eq(memcmp(&c, &before, sizeof c), 0);
}
END_TEST

START_TEST(embedded_nul)
{
    /* The text is a span, not a C string: a NUL inside is a bad byte. */
    static const char text[] = "[nlbctld]\nrole = agent\n[agent]\nnode = a\0b\n";
    EXPECT_ERR_LEN(text, sizeof text - 1, FILE_NAME ":4: [agent] node: ", "'a?b' is not a name");
}
END_TEST

/* ---- the shipped example ------------------------------------------------ */

static char *read_example(size_t *len)
{
    const char *path = NLBCTL_SOURCE_DIR "/nlbctld.example.ini";
    FILE *f = fopen(path, "rb");
    char *buf;
    long size;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    ck_assert_int_ge(size, 0);
    ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
    buf = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, (size_t)size, f);
    ck_assert_uint_eq(*len, (size_t)size);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

START_TEST(example_file)
{
    size_t len;
    char *text = read_example(&len);
    char err[CONFIG_ERROR_MAX];
    struct config c;

    ck_assert_msg(config_parse("nlbctld.example.ini", text, len, &c, err, sizeof err) == 0,
                  "nlbctld.example.ini does not load: %s", err);
    ck_assert_int_eq(c.role, MODEL_ROLE_AGENT);
    /* A real agent: NLB through WMI, the simulator's folder left out. */
    ck_assert_str_eq(c.backend, "wmi");
    ck_assert_str_eq(c.sim_dir, "");
    ck_assert_str_eq(c.cluster_ip, "");
    ck_assert_uint_eq(c.drain_ms, 0);
    ck_assert_str_eq(c.vip, "192.0.2.10");
    ck_assert_ptr_nonnull(strstr(c.coordinator.host, "192.0.2."));
    free(text);
}
END_TEST

/* Every key must be explained: the example is the reference for admins. */
START_TEST(example_documents_every_key)
{
    static const char *const keys[] = {
        "role", "pipe", "state_dir", "log_file", "name", "node1", "node2", "preferred",
        "node", "coordinator", "listen", "election_wait_ms", "switchover_timeout_ms",
        "backend", "vip", "port", "sim_dir", "cluster_ip", "exec_command", "exec_query",
        "drain_ms", "heartbeat_ms", "reconcile_ms", "reconnect_ms",
        "peer", "peer_listen", "service", "path", "args", "start", "preempt",
        "preempt_delay_ms", "miss_count", "isolation_ms", "nlb_timeout_ms", "max_delay_ms",
        "key", "key_file", "allow_unauthenticated", "status_group", "interval_ms",
        "timeout_ms", "rise", "fall",
    };
    static const char *const sections[] = { "[nlbctld]", "[pair]", "[agent]",
                                            "[application]", "[coordinator]",
                                            "[sip_monitor]", "[nlb]",
                                            "[timing]", "[security]" };
    size_t len, i;
    char *text = read_example(&len);

    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "\n; %s:", keys[i]);
        ck_assert_msg(strstr(text, doc) != NULL, "the example does not explain '%s'", keys[i]);
    }
    for (i = 0; i < sizeof sections / sizeof sections[0]; i++)
        ck_assert_msg(strstr(text, sections[i]) != NULL, "the example lacks %s", sections[i]);
    free(text);
}
END_TEST

/* The commented-out settings are meant to be uncommented: they must be
 * valid too, and the file must work as a coordinator's once switched. */
START_TEST(example_commented_settings)
{
    size_t len, i, o = 0;
    char *text = read_example(&len);
    char *out = malloc(len + 32);
    char err[CONFIG_ERROR_MAX];
    struct config c;
    int at_line_start = 1;

    ck_assert_ptr_nonnull(out);
    for (i = 0; i < len; i++) {
        /* ";key = value" and ";[section]" (no space after ';') are settings;
         * "; words" is prose and stays a comment. */
        if (at_line_start && text[i] == ';' && i + 1 < len &&
            (text[i + 1] == '[' || (text[i + 1] >= 'a' && text[i + 1] <= 'z')))
            continue;
        out[o++] = text[i];
        at_line_start = text[i] == '\n';
    }
    ck_assert_msg(config_parse("uncommented.ini", out, o, &c, err, sizeof err) == 0,
                  "the example's commented settings do not load: %s", err);
    ck_assert_str_ne(c.state_dir, "");
    ck_assert_str_ne(c.log_file, "");
    ck_assert_str_eq(c.listen.host, "0.0.0.0");
    /* The [nlb] settings shown commented are the defaults, but for
     * cluster_ip and sim_dir. */
    ck_assert_str_eq(c.backend, "wmi");
    ck_assert_str_eq(c.sim_dir, "C:\\ProgramData\\nlbctl\\sim");
    ck_assert_str_ne(c.cluster_ip, "");
    ck_assert_str_eq(c.exec_command, "nlb.exe %ACTION% %VIP%:%PORT%");
    ck_assert_str_eq(c.exec_query, "nlb.exe queryport %VIP%:%PORT%");
    ck_assert_uint_eq(c.drain_ms, 0);

    /* The lab variant the file describes, backend = sim with the sim_dir
     * uncommented above, loads too; so does exec. */
    {
        static const char *const lab[] = { "backend = sim", "backend = exec" };
        size_t k;
        for (k = 0; k < sizeof lab / sizeof lab[0]; k++) {
            char *copy = malloc(o + 32), *b;
            size_t n;
            ck_assert_ptr_nonnull(copy);
            memcpy(copy, out, o);
            copy[o] = '\0';
            b = strstr(copy, "\nbackend = wmi\n");
            ck_assert_ptr_nonnull(b);
            b++;
            memmove(b + strlen(lab[k]), b + strlen("backend = wmi"),
                    o - (size_t)(b - copy) - strlen("backend = wmi"));
            memcpy(b, lab[k], strlen(lab[k]));
            n = o + strlen(lab[k]) - strlen("backend = wmi");
            ck_assert_msg(config_parse("lab.ini", copy, n, &c, err, sizeof err) == 0,
                          "the example with %s does not load: %s", lab[k], err);
            ck_assert_str_eq(c.backend, lab[k] + strlen("backend = "));
            free(copy);
        }
    }

    /* Switched to the coordinator role, it still loads. */
    char *role = strstr(out, "role = agent");
    ck_assert_ptr_nonnull(role);
    memmove(role + strlen("role = coordinator"), role + strlen("role = agent"),
            o - (size_t)(role - out) - strlen("role = agent"));
    memcpy(role, "role = coordinator", strlen("role = coordinator"));
    o += strlen("role = coordinator") - strlen("role = agent");
    ck_assert_msg(config_parse("coordinator.ini", out, o, &c, err, sizeof err) == 0,
                  "the example as a coordinator does not load: %s", err);
    ck_assert_int_eq(c.role, MODEL_ROLE_COORDINATOR);
    free(out);
    free(text);
}
END_TEST


/* ---- reload: what a PARAMCHANGE applies and what waits for a restart ---- */

START_TEST(reload_no_change)
{
    struct config a, b, applied;
    struct config_changes ch;
    PARSE_OK(AGENT_TEXT, &a);
    /* The same settings written another way (comments, case, spaces). */
    PARSE_OK("; the same\n" SECURITY_TEXT "[NLBCTLD]\nrole=AGENT\n[agent]\nnode = web1\n"
             "coordinator = 192.0.2.5:7400\n[nlb]\nbackend = sim\nvip = 192.0.2.10\n"
             "port = 5060\nsim_dir = C:\\ProgramData\\nlbctl\\sim\n", &b);
    config_compare(&a, &b, &applied, &ch);
    ck_assert_uint_eq(ch.count, 0);
    ck_assert_uint_eq(ch.live_count, 0);
    ck_assert_uint_eq(ch.restart_count, 0);
    ck_assert_int_eq(memcmp(&applied, &a, sizeof a), 0);
    char text[256];
    ck_assert_uint_eq(config_changes_text(&ch, 1, text, sizeof text), 0);
    ck_assert_str_eq(text, "");
}
END_TEST

START_TEST(reload_live_keys_applied)
{
    struct config a, b, applied;
    struct config_changes ch;
    PARSE_OK(AGENT_TEXT, &a);
    PARSE_OK(AGENT_TEXT "drain_ms = 2000\n[timing]\nheartbeat_ms = 600\nreconcile_ms = 3000\n"
             "[nlbctld]\nlog_file = C:\\logs\\n.log\n", &b);
    config_compare(&a, &b, &applied, &ch);
    ck_assert_uint_eq(ch.count, 4);
    ck_assert_uint_eq(ch.live_count, 4);
    ck_assert_uint_eq(ch.restart_count, 0);
    ck_assert_uint_eq(applied.drain_ms, 2000);
    ck_assert_uint_eq(applied.heartbeat_ms, 600);
    ck_assert_uint_eq(applied.reconcile_ms, 3000);
    ck_assert_str_eq(applied.log_file, "C:\\logs\\n.log");
    ck_assert(config_changed(&ch, "timing", "heartbeat_ms"));
    ck_assert(config_changed(&ch, "timing", NULL));
    ck_assert(!config_changed(&ch, "timing", "miss_count"));
    ck_assert(!config_changed(&ch, "sip_monitor", NULL));
    char text[256];
    config_changes_text(&ch, 1, text, sizeof text);
    ck_assert_str_eq(text, "[nlbctld] log_file, [nlb] drain_ms, [timing] heartbeat_ms, "
                           "[timing] reconcile_ms");
    config_changes_text(&ch, 0, text, sizeof text);
    ck_assert_str_eq(text, "");
}
END_TEST

/* Identity, addresses and the key are reported, never half-applied. */
START_TEST(reload_restart_keys_kept)
{
    struct config a, b, applied;
    struct config_changes ch;
    PARSE_OK(AGENT_TEXT, &a);
    PARSE_OK("[security]\nkey = 00112233445566778899aabbccddeeff00112233445566778899aabbccddee00\n"
             "[nlbctld]\nrole = agent\npipe = other\n[agent]\nnode = web9\n"
             "coordinator = 192.0.2.6:7400\n[nlb]\nbackend = sim\nvip = 192.0.2.10\n"
             "port = 5061\nsim_dir = C:\\ProgramData\\nlbctl\\sim\n"
             "[timing]\nisolation_ms = 1200\n", &b);
    config_compare(&a, &b, &applied, &ch);
    ck_assert_uint_eq(ch.live_count, 1);
    ck_assert_uint_eq(ch.restart_count, 5);
    ck_assert_uint_eq(applied.isolation_ms, 1200);
    ck_assert_str_eq(applied.node, "web1");
    ck_assert_str_eq(applied.pipe, "nlbctld");
    ck_assert_str_eq(applied.coordinator.host, "192.0.2.5");
    ck_assert_uint_eq(applied.port, 5060);
    ck_assert_int_eq(memcmp(applied.key, a.key, a.key_len), 0);
    char text[256];
    config_changes_text(&ch, 0, text, sizeof text);
    ck_assert_str_eq(text, "[nlbctld] pipe, [agent] node, [agent] coordinator, [nlb] port, "
                           "[security] key");
    config_changes_text(&ch, 1, text, sizeof text);
    ck_assert_str_eq(text, "[timing] isolation_ms");
}
END_TEST

/* The role itself is a restart key: a coordinator stays a coordinator. */
START_TEST(reload_role_and_pair_kept)
{
    struct config a, b, applied;
    struct config_changes ch;
    PARSE_OK(COORDINATOR_TEXT, &a);
    PARSE_OK(AGENT_TEXT, &b);
    config_compare(&a, &b, &applied, &ch);
    ck_assert(config_changed(&ch, "nlbctld", "role"));
    ck_assert(config_changed(&ch, "pair", "node1"));
    ck_assert(config_changed(&ch, "agent", "node"));
    ck_assert_uint_eq(applied.role, MODEL_ROLE_COORDINATOR);
    ck_assert_str_eq(applied.node1, "web1");
    ck_assert_str_eq(applied.node2, "web2");
    ck_assert_str_eq(applied.node, "");
    for (unsigned i = 0; i < ch.count; i++)
        ck_assert_msg(!ch.items[i].live || strcmp(ch.items[i].section, "timing") == 0 ||
                          strcmp(ch.items[i].section, "nlb") == 0,
                      "[%s] %s reported live", ch.items[i].section, ch.items[i].key);
}
END_TEST

/* Coordinator keys: preempt and SIP probing are live, preferred is not
 * (it must name one of the node names, which are restart keys). */
START_TEST(reload_coordinator_keys)
{
    struct config a, b, applied;
    struct config_changes ch;
    PARSE_OK(COORDINATOR_TEXT, &a);
    PARSE_OK(COORDINATOR_TEXT "preferred = web2\n[coordinator]\npreempt = yes\n"
             "preempt_delay_ms = 5000\nswitchover_timeout_ms = 9000\nlisten = 127.0.0.1:7500\n"
             "[sip_monitor]\nnode1 = 192.0.2.1:5060\nnode2 = 192.0.2.2:5060\nfall = 2\n", &b);
    config_compare(&a, &b, &applied, &ch);
    ck_assert_uint_eq(applied.preempt, 1);
    ck_assert_uint_eq(applied.preempt_delay_ms, 5000);
    ck_assert_uint_eq(applied.switchover_timeout_ms, 9000);
    ck_assert_uint_eq(applied.mon_node1.port, 5060);
    ck_assert_str_eq(applied.mon_node2.host, "192.0.2.2");
    ck_assert_uint_eq(applied.mon_fall, 2);
    ck_assert_str_eq(applied.preferred, a.preferred);
    ck_assert_uint_eq(applied.listen.port, 7400);
    char text[256];
    config_changes_text(&ch, 0, text, sizeof text);
    ck_assert_str_eq(text, "[pair] preferred, [coordinator] listen");
    ck_assert(config_changed(&ch, "sip_monitor", NULL));
    /* And back: monitoring switched off again is live too. */
    config_compare(&applied, &a, &applied, &ch);
    ck_assert_uint_eq(applied.mon_node1.port, 0);
    ck_assert_uint_eq(applied.preempt, 0);
    ck_assert_uint_eq(ch.restart_count, 0);
}
END_TEST

/* The list is cut to the buffer, never overflowing it. */
START_TEST(reload_text_truncated)
{
    struct config a, b;
    struct config_changes ch;
    PARSE_OK(AGENT_TEXT, &a);
    PARSE_OK(AGENT_TEXT "drain_ms = 2000\n[timing]\nheartbeat_ms = 600\n", &b);
    config_compare(&a, &b, NULL, &ch);
    char text[8];
    size_t n = config_changes_text(&ch, 1, text, sizeof text);
    ck_assert_uint_gt(n, sizeof text);
    ck_assert_uint_eq(strlen(text), sizeof text - 1);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc;

    tc = tcase_create("reload");
    tcase_add_test(tc, reload_no_change);
    tcase_add_test(tc, reload_live_keys_applied);
    tcase_add_test(tc, reload_restart_keys_kept);
    tcase_add_test(tc, reload_role_and_pair_kept);
    tcase_add_test(tc, reload_coordinator_keys);
    tcase_add_test(tc, reload_text_truncated);
    suite_add_tcase(s, tc);

    tc = tcase_create("valid_agent");
    tcase_add_test(tc, valid_agent);
    tcase_add_test(tc, valid_agent_without_pair);
    suite_add_tcase(s, tc);

    tc = tcase_create("valid_coordinator");
    tcase_add_test(tc, valid_coordinator);
    tcase_add_test(tc, sip_monitor_section);
    tcase_add_test(tc, err_not_utf8);
    tcase_add_test(tc, good_endpoints);
    suite_add_tcase(s, tc);

    tc = tcase_create("defaults");
    tcase_add_test(tc, defaults);
    suite_add_tcase(s, tc);

    tc = tcase_create("syntax");
    tcase_add_test(tc, syntax_forms);
    tcase_add_test(tc, line_numbers_with_crlf_and_bom);
    tcase_add_test(tc, embedded_nul);
    suite_add_tcase(s, tc);

    tc = tcase_create("line_errors");
    tcase_add_test(tc, err_line_too_long);
    tcase_add_test(tc, err_malformed_line);
    tcase_add_test(tc, err_key_outside_section);
    tcase_add_test(tc, err_unknown_section);
    tcase_add_test(tc, err_unknown_key);
    tcase_add_test(tc, err_duplicate_key);
    suite_add_tcase(s, tc);

    tc = tcase_create("value_errors");
    tcase_add_test(tc, err_value_too_long);
    tcase_add_test(tc, err_bad_values);
    tcase_add_test(tc, err_bad_ipv4);
    tcase_add_test(tc, err_number_range);
    suite_add_tcase(s, tc);

    tc = tcase_create("peer_and_preempt");
    tcase_add_test(tc, valid_peer);
    tcase_add_test(tc, valid_preempt);
    suite_add_tcase(s, tc);

    tc = tcase_create("booleans");
    tcase_add_test(tc, bool_forms);
    tcase_add_test(tc, err_bool);
    suite_add_tcase(s, tc);

    tc = tcase_create("nlb");
    tcase_add_test(tc, nlb_backends);
    tcase_add_test(tc, nlb_cluster_ip_and_drain);
    tcase_add_test(tc, nlb_exec_commands);
    tcase_add_test(tc, err_exec_too_long);
    suite_add_tcase(s, tc);

    tc = tcase_create("application");
    tcase_add_test(tc, application_none);
    tcase_add_test(tc, application_service);
    tcase_add_test(tc, application_program);
    tcase_add_test(tc, err_args_too_long);
    tcase_add_test(tc, err_application_rules);
    suite_add_tcase(s, tc);

    tc = tcase_create("timing_rules");
    tcase_add_test(tc, timing_valid);
    tcase_add_test(tc, err_timing_fencing_rule);
    tcase_add_test(tc, err_timing_isolation_rule);
    suite_add_tcase(s, tc);

    tc = tcase_create("security");
    tcase_add_test(tc, security_key);
    tcase_add_test(tc, security_key_file_and_lab);
    tcase_add_test(tc, security_status_group);
    tcase_add_test(tc, err_security_rules);
    tcase_add_test(tc, err_key_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("whole_file_errors");
    tcase_add_test(tc, err_missing_required);
    tcase_add_test(tc, err_cross_checks);
    suite_add_tcase(s, tc);

    tc = tcase_create("error_buffer");
    tcase_add_test(tc, err_small_buffer);
    tcase_add_test(tc, failure_leaves_cfg_alone);
    suite_add_tcase(s, tc);

    tc = tcase_create("example_file");
    tcase_add_test(tc, example_file);
    tcase_add_test(tc, example_documents_every_key);
    tcase_add_test(tc, example_commented_settings);
    suite_add_tcase(s, tc);

    return s;
}
