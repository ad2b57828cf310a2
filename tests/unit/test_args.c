/* test_args.c - nlbctl's command line (nlbctl/args.c): every command and
 * option, the defaults, and each refusal with the word it names. */
#include <check.h>
#include <string.h>

#include "args.h"

#define MAX_ARGS 32

static struct nlbctl_args a;
static char err[NLBCTL_ARGS_ERROR_MAX];
static int show_usage;

/* Parses a NULL-terminated list of words after the program name. */
static int parse_v(const char *const *words)
{
    char *argv[MAX_ARGS];
    int argc = 0;
    argv[argc++] = "nlbctl";
    for (; words[argc - 1]; argc++)
        argv[argc] = (char *)words[argc - 1];
    return nlbctl_args_parse(argc, argv, &a, &show_usage, err, sizeof err);
}

#define PARSE(...) parse_v((const char *const[]){__VA_ARGS__, NULL})

#define EXPECT_REFUSED(needle, usage, ...)                                      \
    do {                                                                        \
        ck_assert_int_eq(PARSE(__VA_ARGS__), -1);                               \
        ck_assert_msg(strstr(err, (needle)) != NULL, "'%s' lacks '%s'", err,   \
                      (needle));                                                \
        ck_assert_msg(strchr(err, '\n') == NULL, "newline in '%s'", err);      \
        ck_assert_int_eq(show_usage, (usage));                                  \
    } while (0)

START_TEST(read_commands)
{
    ck_assert_int_eq(PARSE("status"), 0);
    ck_assert_int_eq(a.cmd, NLBCTL_CMD_STATUS);
    ck_assert_int_eq(a.json, 0);
    ck_assert_str_eq(a.pipe, "nlbctld");
    ck_assert_int_eq(PARSE("--pipe", "other", "history", "--json"), 0);
    ck_assert_int_eq(a.cmd, NLBCTL_CMD_HISTORY);
    ck_assert_int_eq(a.json, 1);
    ck_assert_str_eq(a.pipe, "other");
    EXPECT_REFUSED("'--xml'", 0, "status", "--xml");
    EXPECT_REFUSED("nlbctl history: unknown option '--xml'", 0, "history", "--xml");
}
END_TEST

START_TEST(global_options)
{
    ck_assert_int_eq(PARSE("--version", "--bogus"), 0);
    ck_assert_int_eq(a.cmd, NLBCTL_CMD_VERSION);
    ck_assert_int_eq(PARSE("-h"), 0);
    ck_assert_int_eq(a.cmd, NLBCTL_CMD_HELP);
    ck_assert_int_eq(PARSE("help"), 0);
    ck_assert_int_eq(a.cmd, NLBCTL_CMD_HELP);
    EXPECT_REFUSED("no command", 1, "--pipe", "x");
    EXPECT_REFUSED("'--pipe'", 1, "--pipe");
    EXPECT_REFUSED("unknown command 'frobnicate'", 1, "frobnicate");
    /* No words at all. */
    char *argv[] = {"nlbctl"};
    ck_assert_int_eq(nlbctl_args_parse(1, argv, &a, &show_usage, err, sizeof err), -1);
    ck_assert_int_eq(show_usage, 1);
}
END_TEST

START_TEST(switchover_options)
{
    ck_assert_int_eq(PARSE("switchover"), 0);
    ck_assert_int_eq(a.cmd, NLBCTL_CMD_SWITCHOVER);
    ck_assert_str_eq(a.target, "");
    ck_assert_uint_eq(a.timeout_s, NLBCTL_DEFAULT_SWITCHOVER_S);
    ck_assert_int_eq(PARSE("switchover", "--to", "WEB2", "--timeout", "3600"), 0);
    ck_assert_str_eq(a.target, "WEB2");
    ck_assert_uint_eq(a.timeout_s, 3600);
    EXPECT_REFUSED("--timeout: '0'", 0, "switchover", "--timeout", "0");
    EXPECT_REFUSED("'3601'", 0, "switchover", "--timeout", "3601");
    EXPECT_REFUSED("' 5'", 0, "switchover", "--timeout", " 5");
    EXPECT_REFUSED("'+5'", 0, "switchover", "--timeout", "+5");
    EXPECT_REFUSED("'5s'", 0, "switchover", "--timeout", "5s");
    EXPECT_REFUSED("incomplete option '--to'", 0, "switchover", "--to");
    EXPECT_REFUSED("longer than 63", 0, "switchover", "--to",
                   "a234567890123456789012345678901234567890123456789012345678901234");
}
END_TEST

START_TEST(port_commands)
{
    ck_assert_int_eq(PARSE("port", "query", "192.0.2.10:5060"), 0);
    ck_assert_int_eq(a.cmd, NLBCTL_CMD_PORT);
    ck_assert_int_eq(a.action, NLBCTL_PORT_QUERY);
    ck_assert_str_eq(a.action_word, "query");
    ck_assert_str_eq(a.nlb.vip, "192.0.2.10");
    ck_assert_uint_eq(a.nlb.port, 5060);
    ck_assert_str_eq(a.nlb.backend, "wmi");
    ck_assert_str_eq(a.node, "local");
    ck_assert_uint_eq(a.timeout_s, NLBCTL_DEFAULT_PORT_S);
    ck_assert_int_eq(PARSE("port", "drain", "10.0.0.1:1", "--backend", "sim", "--sim-dir",
                           "C:\\sim", "--node", "n1", "--json", "--timeout", "2"),
                     0);
    ck_assert_int_eq(a.action, NLBCTL_PORT_DRAIN);
    ck_assert_str_eq(a.nlb.backend, "sim");
    ck_assert_str_eq(a.nlb.sim_dir, "C:\\sim");
    ck_assert_str_eq(a.node, "n1");
    ck_assert_int_eq(a.json, 1);
    ck_assert_uint_eq(a.timeout_s, 2);
    ck_assert_int_eq(PARSE("port", "enable", "255.255.255.255:65535", "--backend", "exec",
                           "--exec-command", "x %ACTION%", "--exec-query", "q",
                           "--cluster-ip", "192.0.2.1"),
                     0);
    ck_assert_str_eq(a.nlb.exec_command, "x %ACTION%");
    ck_assert_str_eq(a.nlb.exec_query, "q");
    ck_assert_str_eq(a.nlb.cluster_ip, "192.0.2.1");
    EXPECT_REFUSED("port: usage", 0, "port", "enable");
    EXPECT_REFUSED("'flip' is not an action", 0, "port", "flip", "192.0.2.10:5060");
    EXPECT_REFUSED("(wmi, exec or sim)", 0, "port", "query", "192.0.2.10:5060", "--backend",
                   "nlb");
    EXPECT_REFUSED("needs --sim-dir", 0, "port", "query", "192.0.2.10:5060", "--backend", "sim");
    EXPECT_REFUSED("'--json2'", 0, "port", "query", "192.0.2.10:5060", "--json2");
}
END_TEST

/* Each of these is refused as not VIP:PORT, and names itself. */
START_TEST(port_rule_forms)
{
    static const char *const bad[] = {
        "192.0.2.10",        "192.0.2.10:",       ":5060",           "192.0.2.10:0",
        "192.0.2.10:65536",  "192.0.2.10:+5060",  "192.0.2.10: 5060", "192.0.2.10:5060x",
        "192.0.2:5060",      "192.0.2.10.1:5060", "192.0.2.256:5060", "192.0.2.-1:5060",
        " 192.0.2.10:5060",  "192.0.2..10:5060",  "host:5060",        "1.2.3.4:5:6",
        "0001.2.3.4:5060",   "1.2.3.4:000005060"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(PARSE("port", "query", bad[i]), -1);
        ck_assert_msg(strstr(err, bad[i]) && strstr(err, "is not VIP:PORT"), "%s: %s", bad[i],
                      err);
    }
    struct config c;
    config_defaults(&c);
    ck_assert_int_eq(nlbctl_args_rule("0.0.0.0:1", &c), 0);
    ck_assert_str_eq(c.vip, "0.0.0.0");
    ck_assert_uint_eq(c.port, 1);
}
END_TEST

/* A word of 511 bytes (the console's limit) is quoted in the message
 * without overflowing it, and the cut never splits a UTF-8 character. */
START_TEST(long_words_fit_the_message)
{
    char word[512];
    memset(word, 0, sizeof word);
    for (size_t i = 0; i + 2 <= 510; i += 2) {
        word[i] = (char)0xC3; /* é */
        word[i + 1] = (char)0xA9;
    }
    EXPECT_REFUSED("unknown command", 1, word);
    size_t n = strlen(err);
    ck_assert_uint_lt(n, sizeof err);
    /* The last byte kept is a whole é or the closing quote. */
    ck_assert_msg((unsigned char)err[n - 1] != 0xC3, "cut inside a character");
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("args");
    TCase *tc = tcase_create("commands");
    tcase_add_test(tc, read_commands);
    tcase_add_test(tc, global_options);
    tcase_add_test(tc, switchover_options);
    suite_add_tcase(s, tc);
    tc = tcase_create("port");
    tcase_add_test(tc, port_commands);
    tcase_add_test(tc, port_rule_forms);
    tcase_add_test(tc, long_words_fit_the_message);
    suite_add_tcase(s, tc);
    return s;
}
