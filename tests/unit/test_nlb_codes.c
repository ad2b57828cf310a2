/* test_nlb_codes.c - NLB's codes in words: every WLBS_* return code has its
 * name and an administrator's sentence, only OK and ALREADY count as
 * success; every HRESULT that matters has a sentence, NLB's missing
 * namespace says "NLB is not installed", unknown ones show their hex;
 * PortState maps to enum model_port; the method per desired state; which
 * MicrosoftNLB_Node and MicrosoftNLB_PortRuleEx instance is chosen; the WQL.
 *
 * Every text is written into a buffer exactly as large as the call is told,
 * on the heap, so the sanitizer build catches a write past `cap`. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "nlb_codes.h"

/* ---- helpers ---------------------------------------------------------------- */

static const uint32_t all_wlbs[] = {
    1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1013,
    1014, 1050, 1100, 1101, 1102, 1103, 1150, 1151, 1152, 1153, 1154,
};
#define N_WLBS (sizeof all_wlbs / sizeof all_wlbs[0])

static const char *const wlbs_names[N_WLBS] = {
    "WLBS_OK",           "WLBS_ALREADY",       "WLBS_DRAIN_STOP",       "WLBS_BAD_PARAMS",
    "WLBS_NOT_FOUND",    "WLBS_STOPPED",       "WLBS_CONVERGING",       "WLBS_CONVERGED",
    "WLBS_DEFAULT",      "WLBS_DRAINING",      "WLBS_SUSPENDED",        "WLBS_MEDIA_DISCONNECTED",
    "WLBS_REBOOT",       "WLBS_INIT_ERROR",    "WLBS_BAD_PASSW",        "WLBS_IO_ERROR",
    "WLBS_TIMEOUT",      "WLBS_PORT_OVERLAP",  "WLBS_BAD_PORT_PARAMS",  "WLBS_MAX_PORT_RULES",
    "WLBS_TRUNCATED",    "WLBS_REG_ERROR",
};

#define TEXT_CAP 512

static char *wlbs(uint32_t code, unsigned port, const char *vip)
{
    static char copy[TEXT_CAP];
    char *buf = malloc(TEXT_CAP);
    ck_assert_ptr_nonnull(buf);
    ck_assert_ptr_eq(nlb_codes_wlbs_text(code, port, vip, buf, TEXT_CAP), buf);
    ck_assert_uint_lt(strlen(buf), TEXT_CAP);
    snprintf(copy, sizeof copy, "%s", buf);
    free(buf);
    return copy;
}

static char *hres(uint32_t hr, const char *ns)
{
    static char copy[TEXT_CAP];
    char *buf = malloc(TEXT_CAP);
    ck_assert_ptr_nonnull(buf);
    ck_assert_ptr_eq(nlb_codes_hresult_text(hr, ns, buf, TEXT_CAP), buf);
    ck_assert_uint_lt(strlen(buf), TEXT_CAP);
    snprintf(copy, sizeof copy, "%s", buf);
    free(buf);
    return copy;
}

#define ck_assert_contains(hay, needle)                                                        \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' does not contain '%s'", (hay),       \
                  (needle))

/* ---- WLBS return codes ------------------------------------------------------ */

START_TEST(every_code_has_name_and_sentence)
{
    for (size_t i = 0; i < N_WLBS; i++) {
        const char *name = nlb_codes_wlbs_name(all_wlbs[i]);
        ck_assert_ptr_nonnull(name);
        ck_assert_str_eq(name, wlbs_names[i]);
        const char *t = wlbs(all_wlbs[i], 5060, "192.0.2.10");
        ck_assert_uint_gt(strlen(t), 20);
        /* the sentence names the code, so it can be looked up */
        char num[16];
        snprintf(num, sizeof num, "%lu", (unsigned long)all_wlbs[i]);
        ck_assert_contains(t, name);
        ck_assert_contains(t, num);
        ck_assert_msg(strstr(t, "unknown") == NULL, "%s", t);
    }
}
END_TEST

START_TEST(sentences_are_distinct)
{
    static char texts[N_WLBS][TEXT_CAP];
    for (size_t i = 0; i < N_WLBS; i++)
        snprintf(texts[i], TEXT_CAP, "%s", wlbs(all_wlbs[i], 80, NULL));
    for (size_t i = 0; i < N_WLBS; i++)
        for (size_t j = i + 1; j < N_WLBS; j++)
            ck_assert_str_ne(texts[i], texts[j]);
}
END_TEST

START_TEST(only_ok_and_already_succeed)
{
    for (size_t i = 0; i < N_WLBS; i++) {
        int expect = all_wlbs[i] == 1000 || all_wlbs[i] == 1001;
        ck_assert_int_eq(nlb_codes_wlbs_ok(all_wlbs[i]), expect);
    }
    ck_assert_int_eq(nlb_codes_wlbs_ok(0), 0);
    ck_assert_int_eq(nlb_codes_wlbs_ok(999), 0);
    ck_assert_int_eq(nlb_codes_wlbs_ok(0xFFFFFFFFu), 0);
}
END_TEST

START_TEST(key_sentences)
{
    const char *t = wlbs(NLB_WLBS_NOT_FOUND, 5060, "192.0.2.10");
    ck_assert_contains(t, "no port rule contains port 5060");
    ck_assert_contains(t, "192.0.2.10");
    ck_assert_contains(t, "Add-NlbClusterPortRule");
    t = wlbs(NLB_WLBS_NOT_FOUND, 65535, NULL);
    ck_assert_contains(t, "no port rule contains port 65535 on this host");
    ck_assert_msg(strstr(t, "VIP") == NULL, "%s", t);
    t = wlbs(NLB_WLBS_NOT_FOUND, 443, "");
    ck_assert_contains(t, "no port rule contains port 443 on this host");

    t = wlbs(NLB_WLBS_STOPPED, 5060, NULL);
    ck_assert_contains(t, "NLB is stopped on this host");
    ck_assert_contains(t, "nlb start");
    t = wlbs(NLB_WLBS_SUSPENDED, 5060, NULL);
    ck_assert_contains(t, "suspended");
    ck_assert_contains(t, "Resume-NlbClusterNode");
    t = wlbs(NLB_WLBS_MEDIA_DISCONNECTED, 5060, NULL);
    ck_assert_contains(t, "the network cable is unplugged");
    t = wlbs(NLB_WLBS_ALREADY, 5060, NULL);
    ck_assert_contains(t, "already");
    t = wlbs(NLB_WLBS_REBOOT, 5060, NULL);
    ck_assert_contains(t, "restarted");
    t = wlbs(NLB_WLBS_DRAINING, 5060, NULL);
    ck_assert_contains(t, "draining");
    t = wlbs(NLB_WLBS_PORT_OVERLAP, 5060, NULL);
    ck_assert_contains(t, "overlap");
}
END_TEST

START_TEST(unknown_codes)
{
    static const uint32_t unknown[] = {0, 1, 999, 1010, 1011, 1012, 1015, 1051, 1104,
                                       1149, 1155, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ck_assert_ptr_null(nlb_codes_wlbs_name(unknown[i]));
        char num[32];
        snprintf(num, sizeof num, "unknown code %lu", (unsigned long)unknown[i]);
        ck_assert_contains(wlbs(unknown[i], 1, NULL), num);
    }
}
END_TEST

START_TEST(small_buffers_stay_terminated)
{
    for (size_t cap = 1; cap < 40; cap++) {
        char *buf = malloc(cap);
        ck_assert_ptr_nonnull(buf);
        nlb_codes_wlbs_text(NLB_WLBS_NOT_FOUND, 5060, "192.0.2.10", buf, cap);
        ck_assert_uint_lt(strlen(buf), cap);
        nlb_codes_wlbs_text(NLB_WLBS_STOPPED, 5060, NULL, buf, cap);
        ck_assert_uint_lt(strlen(buf), cap);
        nlb_codes_wlbs_text(4242, 5060, NULL, buf, cap);
        ck_assert_uint_lt(strlen(buf), cap);
        nlb_codes_hresult_text(NLB_HR_WBEM_E_INVALID_NAMESPACE, NULL, buf, cap);
        ck_assert_uint_lt(strlen(buf), cap);
        nlb_codes_hresult_text(0x80049999u, NULL, buf, cap);
        ck_assert_uint_lt(strlen(buf), cap);
        uint8_t st;
        ck_assert_int_eq(nlb_codes_port_state(0, 5060, "192.0.2.10", &st, buf, cap), -1);
        ck_assert_uint_lt(strlen(buf), cap);
        const char *names[] = {"198.51.100.1:1", "198.51.100.2:2"};
        nlb_codes_no_node_text(names, 2, "192.0.2.10", buf, cap);
        ck_assert_uint_lt(strlen(buf), cap);
        free(buf);
    }
    /* cap 0: nothing written, no crash */
    char one = 'x';
    nlb_codes_wlbs_text(1000, 1, NULL, &one, 0);
    nlb_codes_hresult_text(1, NULL, &one, 0);
    nlb_codes_no_node_text(NULL, 0, "x", &one, 0);
    ck_assert_int_eq(one, 'x');
}
END_TEST

/* ---- HRESULTs ------------------------------------------------------------------ */

START_TEST(not_installed)
{
    const char *t = hres(0x8004100Eu, NULL);
    static const char head[] =
        "NLB is not installed on this host (the root\\MicrosoftNLB WMI namespace does not exist)";
    ck_assert_msg(strncmp(t, head, sizeof head - 1) == 0, "%s", t);
    ck_assert_contains(t, "Network Load Balancing feature");
    ck_assert_contains(hres(0x8004100Eu, "root\\MicrosoftNLB"), "NLB is not installed");
    ck_assert_contains(hres(0x8004100Eu, "ROOT\\microsoftnlb"), "NLB is not installed");
    ck_assert_contains(hres(0x8004100Eu, "root/MicrosoftNLB"), "NLB is not installed");
    /* another namespace: no claim about NLB */
    t = hres(0x8004100Eu, "root\\nosuch");
    ck_assert_str_eq(t, "the WMI namespace root\\nosuch does not exist on this host");
    t = hres(0x8004100Eu, "root\\MicrosoftNLBx");
    ck_assert_msg(strstr(t, "NLB is not installed") == NULL, "%s", t);
}
END_TEST

START_TEST(every_listed_hresult_has_a_sentence)
{
    static const uint32_t listed[] = {
        NLB_HR_WBEM_E_FAILED, NLB_HR_WBEM_E_NOT_FOUND, NLB_HR_WBEM_E_ACCESS_DENIED,
        NLB_HR_WBEM_E_PROVIDER_FAILURE, NLB_HR_WBEM_E_TYPE_MISMATCH,
        NLB_HR_WBEM_E_OUT_OF_MEMORY, NLB_HR_WBEM_E_INVALID_PARAMETER,
        NLB_HR_WBEM_E_NOT_SUPPORTED, NLB_HR_WBEM_E_INVALID_NAMESPACE,
        NLB_HR_WBEM_E_INVALID_CLASS, NLB_HR_WBEM_E_PROVIDER_NOT_FOUND,
        NLB_HR_WBEM_E_PROVIDER_LOAD_FAILURE, NLB_HR_WBEM_E_TRANSPORT_FAILURE,
        NLB_HR_WBEM_E_INVALID_QUERY, NLB_HR_WBEM_E_INVALID_QUERY_TYPE,
        NLB_HR_WBEM_E_INVALID_SYNTAX, NLB_HR_WBEM_E_INVALID_METHOD,
        NLB_HR_WBEM_E_INVALID_METHOD_PARAMETERS, NLB_HR_WBEM_E_CALL_CANCELLED,
        NLB_HR_WBEM_E_SHUTTING_DOWN, NLB_HR_WBEM_E_INVALID_OBJECT_PATH,
        NLB_HR_WBEM_E_PRIVILEGE_NOT_HELD, NLB_HR_WBEM_E_TIMED_OUT,
        NLB_HR_WBEM_E_QUOTA_VIOLATION, NLB_HR_RPC_E_CALL_REJECTED, NLB_HR_RPC_E_DISCONNECTED,
        NLB_HR_RPC_E_TIMEOUT, NLB_HR_RPC_S_SERVER_UNAVAILABLE, NLB_HR_CO_E_NOTINITIALIZED,
        NLB_HR_REGDB_E_CLASSNOTREG, NLB_HR_E_ACCESSDENIED, NLB_HR_E_OUTOFMEMORY,
        NLB_HR_E_INVALIDARG,
    };
    size_t n = sizeof listed / sizeof listed[0];
    static char texts[64][TEXT_CAP];
    ck_assert_uint_le(n, 64);
    for (size_t i = 0; i < n; i++) {
        const char *t = hres(listed[i], "root\\MicrosoftNLB");
        ck_assert_msg(strncmp(t, "WMI error 0x", 12) != 0, "0x%08lX has no sentence",
                      (unsigned long)listed[i]);
        ck_assert_uint_gt(strlen(t), 5);
        snprintf(texts[i], TEXT_CAP, "%s", t);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            ck_assert_str_ne(texts[i], texts[j]);
}
END_TEST

START_TEST(hresult_values_and_key_sentences)
{
    /* the values as wbemcli.h / winerror.h define them */
    ck_assert_uint_eq(NLB_HR_WBEM_E_INVALID_NAMESPACE, 0x8004100Eu);
    ck_assert_uint_eq(NLB_HR_WBEM_E_ACCESS_DENIED, 0x80041003u);
    ck_assert_uint_eq(NLB_HR_WBEM_E_NOT_FOUND, 0x80041002u);
    ck_assert_uint_eq(NLB_HR_WBEM_E_INVALID_CLASS, 0x80041010u);
    ck_assert_uint_eq(NLB_HR_WBEM_E_TIMED_OUT, 0x80041069u);
    ck_assert_uint_eq(NLB_HR_RPC_E_DISCONNECTED, 0x80010108u);
    ck_assert_uint_eq(NLB_HR_E_ACCESSDENIED, 0x80070005u);

    ck_assert_contains(hres(0x80041003u, NULL), "access denied by WMI");
    ck_assert_contains(hres(0x80041003u, NULL), "LocalSystem");
    ck_assert_contains(hres(0x80070005u, NULL), "access denied");
    ck_assert_contains(hres(0x80041010u, NULL), "class does not exist");
    ck_assert_contains(hres(0x80041002u, NULL), "not found");
    ck_assert_contains(hres(0x80010108u, NULL), "connection to the WMI service was lost");
    ck_assert_contains(hres(0x80041069u, NULL), "timed out");
    ck_assert_contains(hres(0x80041017u, NULL), "not valid WQL");
    ck_assert_contains(hres(0x8004102Eu, NULL), "EnableEx");
}
END_TEST

START_TEST(unknown_hresults_show_hex)
{
    ck_assert_str_eq(hres(0x80041234u, NULL), "WMI error 0x80041234");
    ck_assert_str_eq(hres(0x80004005u, "root\\cimv2"), "WMI error 0x80004005");
    ck_assert_str_eq(hres(0x00000001u, NULL), "WMI error 0x00000001");
    ck_assert_str_eq(hres(0xFFFFFFFFu, NULL), "WMI error 0xFFFFFFFF");
}
END_TEST

/* ---- PortState ------------------------------------------------------------------ */

START_TEST(port_state_mapping)
{
    char err[TEXT_CAP];
    uint8_t st = 99;
    ck_assert_int_eq(nlb_codes_port_state(1, 5060, "192.0.2.10", &st, err, sizeof err), 0);
    ck_assert_uint_eq(st, MODEL_PORT_ENABLED);
    ck_assert_int_eq(nlb_codes_port_state(2, 5060, "192.0.2.10", &st, err, sizeof err), 0);
    ck_assert_uint_eq(st, MODEL_PORT_DISABLED);
    ck_assert_int_eq(nlb_codes_port_state(3, 5060, "192.0.2.10", &st, err, sizeof err), 0);
    ck_assert_uint_eq(st, MODEL_PORT_DRAINING);
    /* the numbers are the same as enum model_port's, on purpose */
    ck_assert_int_eq(MODEL_PORT_ENABLED, 1);
    ck_assert_int_eq(MODEL_PORT_DISABLED, 2);
    ck_assert_int_eq(MODEL_PORT_DRAINING, 3);

    st = 99;
    err[0] = '\0';
    ck_assert_int_eq(nlb_codes_port_state(0, 5060, "192.0.2.10", &st, err, sizeof err), -1);
    ck_assert_uint_eq(st, MODEL_PORT_UNKNOWN);
    ck_assert_contains(err, "no port rule");
    ck_assert_contains(err, "5060");
    ck_assert_contains(err, "192.0.2.10");
    ck_assert_contains(err, "on this host");

    st = 99;
    ck_assert_int_eq(nlb_codes_port_state(4, 80, NULL, &st, err, sizeof err), -1);
    ck_assert_uint_eq(st, MODEL_PORT_UNKNOWN);
    ck_assert_contains(err, "unknown PortState 4");
    ck_assert_int_eq(nlb_codes_port_state(0xFFFFFFFFu, 80, NULL, &st, err, sizeof err), -1);
    ck_assert_contains(err, "4294967295");
}
END_TEST

/* ---- methods -------------------------------------------------------------------- */

START_TEST(method_per_state)
{
    ck_assert_str_eq(nlb_codes_method(MODEL_PORT_ENABLED), "EnableEx");
    ck_assert_str_eq(nlb_codes_method(MODEL_PORT_DISABLED), "DisableEx");
    ck_assert_str_eq(nlb_codes_method(MODEL_PORT_DRAINING), "DrainEx");
    ck_assert_ptr_null(nlb_codes_method(MODEL_PORT_UNKNOWN));
    ck_assert_ptr_null(nlb_codes_method(4));
    ck_assert_ptr_null(nlb_codes_method(255));
    ck_assert_str_eq(NLB_CODES_PARAM_VIP, "VirtualIpAddress");
    ck_assert_str_eq(NLB_CODES_PARAM_PORT, "Port");
    ck_assert_str_eq(NLB_CODES_RETURN_VALUE, "ReturnValue");
    ck_assert_str_eq(NLB_CODES_NAMESPACE, "root\\MicrosoftNLB");
    ck_assert_str_eq(NLB_CODES_ALL_VIPS, "255.255.255.255");
    ck_assert_str_eq(NLB_CODES_NODE_QUERY, "SELECT * FROM MicrosoftNLB_Node");
}
END_TEST

/* ---- node instance -------------------------------------------------------------- */

START_TEST(pick_node_exact_prefix)
{
    const char *one[] = {"192.0.2.10:1"};
    ck_assert_int_eq(nlb_codes_pick_node(one, 1, "192.0.2.10"), 0);
    /* 192.0.2.1 is a prefix of 192.0.2.10 but not that cluster */
    ck_assert_int_eq(nlb_codes_pick_node(one, 1, "192.0.2.1"), -1);
    const char *two[] = {"192.0.2.10:1", "192.0.2.1:2"};
    ck_assert_int_eq(nlb_codes_pick_node(two, 2, "192.0.2.1"), 1);
    ck_assert_int_eq(nlb_codes_pick_node(two, 2, "192.0.2.10"), 0);
    /* the cluster IP must be followed by ':' */
    const char *bare[] = {"192.0.2.10", "192.0.2.100:3", "x192.0.2.10:1", " 192.0.2.10:1"};
    ck_assert_int_eq(nlb_codes_pick_node(bare, 4, "192.0.2.10"), -1);
    /* the first match wins: enumeration lists the local node first */
    const char *dup[] = {"198.51.100.7:4", "192.0.2.10:2", "192.0.2.10:1"};
    ck_assert_int_eq(nlb_codes_pick_node(dup, 3, "192.0.2.10"), 1);
    /* NULL entries (a Name that could not be read) are skipped */
    const char *holes[] = {NULL, "192.0.2.10:1"};
    ck_assert_int_eq(nlb_codes_pick_node(holes, 2, "192.0.2.10"), 1);
    /* nothing to choose from, or nothing to choose by */
    ck_assert_int_eq(nlb_codes_pick_node(one, 0, "192.0.2.10"), -1);
    ck_assert_int_eq(nlb_codes_pick_node(NULL, 0, "192.0.2.10"), -1);
    ck_assert_int_eq(nlb_codes_pick_node(one, 1, ""), -1);
    ck_assert_int_eq(nlb_codes_pick_node(one, 1, NULL), -1);
    const char *colon[] = {":1"};
    ck_assert_int_eq(nlb_codes_pick_node(colon, 1, ""), -1);
    /* a longer cluster IP than the name */
    ck_assert_int_eq(nlb_codes_pick_node(one, 1, "192.0.2.10:1:"), -1);
}
END_TEST

START_TEST(no_node_sentence)
{
    char buf[TEXT_CAP];
    const char *names[] = {"198.51.100.5:1", NULL, "198.51.100.6:2"};
    nlb_codes_no_node_text(names, 3, "192.0.2.10", buf, sizeof buf);
    ck_assert_contains(buf, "no cluster 192.0.2.10");
    ck_assert_contains(buf, "198.51.100.5:1, 198.51.100.6:2");
    ck_assert_contains(buf, "cluster_ip");
    nlb_codes_no_node_text(NULL, 0, "192.0.2.10", buf, sizeof buf);
    ck_assert_contains(buf, "no cluster 192.0.2.10");
    ck_assert_contains(buf, "no MicrosoftNLB_Node instance");
    /* many names: truncated, still terminated */
    const char *many[40];
    for (int i = 0; i < 40; i++)
        many[i] = "198.51.100.200:32";
    nlb_codes_no_node_text(many, 40, "192.0.2.10", buf, sizeof buf);
    ck_assert_uint_lt(strlen(buf), sizeof buf);
}
END_TEST

/* ---- port rule query ------------------------------------------------------------ */

START_TEST(rule_query_text)
{
    char buf[128];
    ck_assert_int_eq(nlb_codes_rule_query(5060, buf, sizeof buf), 0);
    ck_assert_str_eq(buf,
                     "SELECT * FROM MicrosoftNLB_PortRuleEx WHERE StartPort <= 5060 AND EndPort >= 5060");
    ck_assert_int_eq(nlb_codes_rule_query(0, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "SELECT * FROM MicrosoftNLB_PortRuleEx WHERE StartPort <= 0 AND EndPort >= 0");
    ck_assert_int_eq(nlb_codes_rule_query(65535, buf, sizeof buf), 0);
    ck_assert_str_eq(buf,
                     "SELECT * FROM MicrosoftNLB_PortRuleEx WHERE StartPort <= 65535 AND EndPort >= 65535");
    /* exactly fitting and one byte short */
    size_t need = strlen(buf) + 1;
    char *exact = malloc(need);
    ck_assert_ptr_nonnull(exact);
    ck_assert_int_eq(nlb_codes_rule_query(65535, exact, need), 0);
    ck_assert_str_eq(exact, buf);
    ck_assert_int_eq(nlb_codes_rule_query(65535, exact, need - 1), -1);
    ck_assert_str_eq(exact, "");
    free(exact);
    ck_assert_int_eq(nlb_codes_rule_query(1, buf, 0), -1);
}
END_TEST

START_TEST(pick_rule_prefers_exact_vip)
{
    const char *names[] = {"192.0.2.10:1", "192.0.2.10:1", "192.0.2.10:1"};
    const char *vips[] = {"255.255.255.255", "192.0.2.11", "192.0.2.10"};
    ck_assert_int_eq(nlb_codes_pick_rule(names, vips, 3, "192.0.2.10", "192.0.2.10"), 2);
    /* no exact rule: the all-VIPs one */
    ck_assert_int_eq(nlb_codes_pick_rule(names, vips, 3, "192.0.2.10", "192.0.2.12"), 0);
    ck_assert_int_eq(nlb_codes_pick_rule(names, vips, 3, "192.0.2.10", "192.0.2.11"), 1);
    /* no rule for the vip and no all-VIPs rule */
    const char *only[] = {"192.0.2.11"};
    ck_assert_int_eq(nlb_codes_pick_rule(names, only, 1, "192.0.2.10", "192.0.2.10"), -1);
    /* prefix of a VIP is not that VIP */
    const char *pre[] = {"192.0.2.100", "192.0.2.1"};
    ck_assert_int_eq(nlb_codes_pick_rule(names, pre, 2, "192.0.2.10", "192.0.2.1"), 1);
    ck_assert_int_eq(nlb_codes_pick_rule(names, pre, 2, "192.0.2.10", "192.0.2.10"), -1);
    /* empty and NULL inputs */
    ck_assert_int_eq(nlb_codes_pick_rule(names, vips, 0, "192.0.2.10", "192.0.2.10"), -1);
    ck_assert_int_eq(nlb_codes_pick_rule(NULL, NULL, 0, "192.0.2.10", "192.0.2.10"), -1);
    ck_assert_int_eq(nlb_codes_pick_rule(names, vips, 3, "192.0.2.10", NULL), -1);
    const char *holes[] = {NULL, "192.0.2.10"};
    ck_assert_int_eq(nlb_codes_pick_rule(names, holes, 2, "192.0.2.10", "192.0.2.10"), 1);
}
END_TEST

START_TEST(pick_rule_by_cluster)
{
    /* two clusters on one host, both with an all-VIPs rule for the port */
    const char *names[] = {"198.51.100.1:1", "192.0.2.10:2", "198.51.100.1:1"};
    const char *vips[] = {"255.255.255.255", "255.255.255.255", "192.0.2.10"};
    ck_assert_int_eq(nlb_codes_pick_rule(names, vips, 3, "192.0.2.10", "192.0.2.10"), 1);
    ck_assert_int_eq(nlb_codes_pick_rule(names, vips, 3, "198.51.100.1", "192.0.2.10"), 2);
    ck_assert_int_eq(nlb_codes_pick_rule(names, vips, 3, "198.51.100.1", "198.51.100.9"), 0);
    /* 192.0.2.1 is not cluster 192.0.2.10: no rule is of that cluster, all are considered */
    ck_assert_int_eq(nlb_codes_pick_rule(names, vips, 3, "192.0.2.1", "192.0.2.10"), 2);
    /* names unknown (NULL) or in another form: the VIP alone decides */
    ck_assert_int_eq(nlb_codes_pick_rule(NULL, vips, 3, "192.0.2.10", "192.0.2.10"), 2);
    const char *host_names[] = {"HOST1", "HOST1", "HOST1"};
    ck_assert_int_eq(nlb_codes_pick_rule(host_names, vips, 3, "192.0.2.10", "192.0.2.10"), 2);
    ck_assert_int_eq(nlb_codes_pick_rule(host_names, vips, 3, "", "192.0.2.10"), 2);
}
END_TEST

START_TEST(connection_counting)
{
    ck_assert_int_eq(nlb_codes_protocol_countable(NLB_PROTOCOL_TCP), 1);
    ck_assert_int_eq(nlb_codes_protocol_countable(NLB_PROTOCOL_BOTH), 1);
    ck_assert_int_eq(nlb_codes_protocol_countable(NLB_PROTOCOL_UDP), 0);
    ck_assert_int_eq(nlb_codes_protocol_countable(0), 0);
    ck_assert_int_eq(nlb_codes_protocol_countable(4), 0);
    /* MIB_TCP_STATE: 2 LISTEN, 4 SYN_RCVD, 5 ESTAB, 8 CLOSE_WAIT, 10 LAST_ACK,
     * 11 TIME_WAIT, 12 DELETE_TCB */
    static const struct {
        uint32_t state;
        int counts;
    } states[] = {{1, 0}, {2, 0}, {3, 0}, {4, 1}, {5, 1}, {6, 1}, {7, 1},
                  {8, 1}, {9, 1}, {10, 1}, {11, 0}, {12, 0}, {0, 0}, {99, 0}};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        ck_assert_int_eq(nlb_codes_tcp_state_counts(states[i].state), states[i].counts);
}
END_TEST

START_TEST(ipv4_parsing)
{
    uint8_t a[4];
    ck_assert_int_eq(nlb_codes_parse_ipv4("192.0.2.10", a), 0);
    ck_assert_uint_eq(a[0], 192);
    ck_assert_uint_eq(a[1], 0);
    ck_assert_uint_eq(a[2], 2);
    ck_assert_uint_eq(a[3], 10);
    ck_assert_int_eq(nlb_codes_parse_ipv4("255.255.255.255", a), 0);
    ck_assert_uint_eq(a[3], 255);
    static const char *bad[] = {"", "192.0.2", "192.0.2.10.", "192.0.2.256", "1920.0.2.1",
                                "a.b.c.d", "192.0.2.10 ", "::1", "2001:db8::1", "192..2.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(nlb_codes_parse_ipv4(bad[i], a) == -1, "'%s' parsed", bad[i]);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("nlb_codes");
    TCase *tc;

    tc = tcase_create("wlbs_codes");
    tcase_add_test(tc, every_code_has_name_and_sentence);
    tcase_add_test(tc, sentences_are_distinct);
    tcase_add_test(tc, only_ok_and_already_succeed);
    tcase_add_test(tc, key_sentences);
    tcase_add_test(tc, unknown_codes);
    tcase_add_test(tc, small_buffers_stay_terminated);
    suite_add_tcase(s, tc);

    tc = tcase_create("hresults");
    tcase_add_test(tc, not_installed);
    tcase_add_test(tc, every_listed_hresult_has_a_sentence);
    tcase_add_test(tc, hresult_values_and_key_sentences);
    tcase_add_test(tc, unknown_hresults_show_hex);
    suite_add_tcase(s, tc);

    tc = tcase_create("port_state");
    tcase_add_test(tc, port_state_mapping);
    tcase_add_test(tc, method_per_state);
    suite_add_tcase(s, tc);

    tc = tcase_create("node_choice");
    tcase_add_test(tc, pick_node_exact_prefix);
    tcase_add_test(tc, no_node_sentence);
    suite_add_tcase(s, tc);

    tc = tcase_create("port_rule");
    tcase_add_test(tc, rule_query_text);
    tcase_add_test(tc, pick_rule_prefers_exact_vip);
    tcase_add_test(tc, pick_rule_by_cluster);
    suite_add_tcase(s, tc);

    tc = tcase_create("connections");
    tcase_add_test(tc, connection_counting);
    tcase_add_test(tc, ipv4_parsing);
    suite_add_tcase(s, tc);

    return s;
}
