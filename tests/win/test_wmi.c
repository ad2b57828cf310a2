/* test_wmi.c - the WMI client for real, under Wine: a root\cimv2 query read
 * property by property, a class method (StdRegProv) with in- and
 * out-parameters, an instance method called on an instance's __RELPATH,
 * the errors (an unknown namespace, class, method, parameter, property, a
 * bad WQL query) with their sentences, and the wmi NLB backend refusing to
 * open where NLB is not installed.
 *
 * What Wine can and cannot show (TESTING.md): Wine answers root\cimv2 and
 * StdRegProv, so the generic COM code runs for real; it has no
 * root\MicrosoftNLB, so the NLB methods themselves are only reached on a
 * Windows host with NLB (tests/windows/lab.ps1). Every test initialises
 * COM as the NLB worker thread does (multithreaded). */
#include <winsock2.h>

#include "wmi_client.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "nlb_backend.h"
#include "nlb_codes.h"

#define ERR_CAP 1024

#define ck_assert_contains(hay, needle)                                                        \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' does not contain '%s'", (hay),       \
                  (needle))

#define ck_assert_hr(expr, expected, err)                                                      \
    do {                                                                                       \
        HRESULT hr_ = (expr);                                                                  \
        ck_assert_msg(hr_ == (HRESULT)(expected), "%s: 0x%08lX, expected 0x%08lX: %s", #expr,   \
                      (unsigned long)(uint32_t)hr_, (unsigned long)(uint32_t)(expected), (err)); \
    } while (0)

static struct wmi *cimv2;
static struct wmi *regns;

static void com_setup(void)
{
    HRESULT hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    ck_assert_msg(SUCCEEDED(hr), "CoInitializeEx: 0x%08lX", (unsigned long)(uint32_t)hr);
    cimv2 = NULL;
    regns = NULL;
}

static void com_teardown(void)
{
    wmi_close(cimv2);
    wmi_close(regns);
    cimv2 = regns = NULL;
    CoUninitialize();
}

static struct wmi *connect_or_fail(const char *ns)
{
    char err[ERR_CAP] = "";
    struct wmi *w = (struct wmi *)1;
    ck_assert_hr(wmi_connect(ns, &w, err, sizeof err), S_OK, err);
    ck_assert_ptr_nonnull(w);
    ck_assert_str_eq(wmi_namespace(w), ns);
    return w;
}

/* The one Win32_OperatingSystem instance. */
static IWbemClassObject *the_os(struct wmi *w)
{
    char err[ERR_CAP] = "";
    IEnumWbemClassObject *rows = NULL;
    ck_assert_hr(wmi_query(w, "SELECT * FROM Win32_OperatingSystem", &rows, err, sizeof err),
                 S_OK, err);
    ck_assert_ptr_nonnull(rows);
    IWbemClassObject *os = NULL;
    ck_assert_hr(wmi_next(w, rows, &os, err, sizeof err), S_OK, err);
    ck_assert_ptr_nonnull(os);
    IWbemClassObject *more = (IWbemClassObject *)1;
    ck_assert_hr(wmi_next(w, rows, &more, err, sizeof err), S_FALSE, err);
    ck_assert_ptr_null(more);
    IEnumWbemClassObject_Release(rows);
    return os;
}

/* ---- root\cimv2 queries ------------------------------------------------------ */

START_TEST(query_reads_string_and_integer)
{
    cimv2 = connect_or_fail("root\\cimv2");
    IWbemClassObject *os = the_os(cimv2);
    char err[ERR_CAP] = "";
    char text[256];

    ck_assert_hr(wmi_get_string(os, "Caption", text, sizeof text, err, sizeof err), S_OK, err);
    ck_assert_contains(text, "Windows");
    ck_assert_hr(wmi_get_string(os, "Name", text, sizeof text, err, sizeof err), S_OK, err);
    ck_assert_uint_gt(strlen(text), 0);

    /* OSType is uint16: 18 = WINNT; it arrives as a VT_I4 like uint32 */
    uint32_t os_type = 0;
    ck_assert_hr(wmi_get_uint32(os, "OSType", &os_type, err, sizeof err), S_OK, err);
    ck_assert_uint_eq(os_type, 18);
    /* a uint32 property, checked against Win32 */
    uint32_t language = 0;
    ck_assert_hr(wmi_get_uint32(os, "OSLanguage", &language, err, sizeof err), S_OK, err);
    ck_assert_uint_gt(language, 0);
    /* an integer read as text */
    ck_assert_hr(wmi_get_string(os, "OSType", text, sizeof text, err, sizeof err), S_OK, err);
    ck_assert_str_eq(text, "18");

    /* the instance's path, to call instance methods on */
    ck_assert_hr(wmi_get_relpath(os, text, sizeof text, err, sizeof err), S_OK, err);
    ck_assert_msg(strncmp(text, "Win32_OperatingSystem", 21) == 0, "%s", text);
    IWbemClassObject_Release(os);
}
END_TEST

START_TEST(property_errors)
{
    cimv2 = connect_or_fail("root\\cimv2");
    IWbemClassObject *os = the_os(cimv2);
    char err[ERR_CAP] = "";
    char text[256];
    uint32_t u = 7;

    ck_assert_hr(wmi_get_string(os, "NoSuchProperty", text, sizeof text, err, sizeof err),
                 WBEM_E_NOT_FOUND, err);
    ck_assert_contains(err, "no property NoSuchProperty");
    ck_assert_hr(wmi_get_uint32(os, "NoSuchProperty", &u, err, sizeof err), WBEM_E_NOT_FOUND,
                 err);
    ck_assert_uint_eq(u, 0);

    /* text is not a number */
    ck_assert_hr(wmi_get_uint32(os, "Caption", &u, err, sizeof err), WBEM_E_TYPE_MISMATCH, err);
    ck_assert_contains(err, "Caption");
    ck_assert_contains(err, "not a number");

    /* a buffer too small: refused, not cut */
    char tiny[4];
    ck_assert_hr(wmi_get_string(os, "Caption", tiny, sizeof tiny, err, sizeof err),
                 HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER), err);
    ck_assert_str_eq(tiny, "");
    ck_assert_contains(err, "longer than 3 bytes");
    IWbemClassObject_Release(os);
}
END_TEST

START_TEST(bad_wql_is_refused_clearly)
{
    cimv2 = connect_or_fail("root\\cimv2");
    char err[ERR_CAP] = "";
    IEnumWbemClassObject *rows = NULL;

    /* Syntax errors may be reported by ExecQuery or by the first Next. */
    HRESULT hr = wmi_query(cimv2, "SELEC * FORM Win32_OperatingSystem", &rows, err, sizeof err);
    if (SUCCEEDED(hr)) {
        IWbemClassObject *obj = NULL;
        hr = wmi_next(cimv2, rows, &obj, err, sizeof err);
        IEnumWbemClassObject_Release(rows);
        ck_assert_ptr_null(obj);
    } else {
        ck_assert_ptr_null(rows);
        ck_assert_contains(err, "SELEC * FORM Win32_OperatingSystem");
    }
    ck_assert_msg(FAILED(hr), "a bad query succeeded");
    ck_assert_contains(err, "root\\cimv2");
    char hex[16];
    snprintf(hex, sizeof hex, "0x%08lX", (unsigned long)(uint32_t)hr);
    ck_assert_contains(err, hex);
    ck_assert_msg(strstr(err, "WQL") || strstr(err, "query"), "%s", err);

    /* An unknown class: Windows refuses it (WBEM_E_INVALID_CLASS, with its
     * sentence); Wine answers with no instances. Either way nothing is read. */
    rows = NULL;
    err[0] = '\0';
    hr = wmi_query(cimv2, "SELECT * FROM NoSuch_Class", &rows, err, sizeof err);
    if (SUCCEEDED(hr)) {
        IWbemClassObject *obj = NULL;
        hr = wmi_next(cimv2, rows, &obj, err, sizeof err);
        ck_assert_ptr_null(obj);
        IEnumWbemClassObject_Release(rows);
    }
    ck_assert_msg(hr == S_FALSE || hr == (HRESULT)WBEM_E_INVALID_CLASS,
                  "unknown class: 0x%08lX: %s", (unsigned long)(uint32_t)hr, err);
    if (FAILED(hr))
        ck_assert_contains(err, "class does not exist");
}
END_TEST

/* ---- StdRegProv: a class method with in- and out-parameters ------------------------ */

#define HKCU_AS_I4 0x80000001u

START_TEST(class_method_round_trip)
{
    regns = connect_or_fail("root\\default");
    char err[ERR_CAP] = "";
    char key[96];
    snprintf(key, sizeof key, "Software\\nlbctl-test-wmi-%lu", (unsigned long)GetCurrentProcessId());
    /* "Grüße, 5060" in UTF-8: the value crosses UTF-8 -> BSTR -> UTF-8 */
    const char *value = "Gr\xC3\xBC\xC3\x9F" "e, 5060";
    uint32_t rv = 99;

    struct wmi_arg create[] = {
        {"hDefKey", WMI_ARG_UINT32, NULL, HKCU_AS_I4},
        {"sSubKeyName", WMI_ARG_STRING, key, 0},
    };
    ck_assert_hr(wmi_call(regns, "StdRegProv", "CreateKey", create, 2, &rv, NULL, err, sizeof err),
                 S_OK, err);
    ck_assert_uint_eq(rv, 0);

    struct wmi_arg set[] = {
        {"hDefKey", WMI_ARG_UINT32, NULL, HKCU_AS_I4},
        {"sSubKeyName", WMI_ARG_STRING, key, 0},
        {"sValueName", WMI_ARG_STRING, "Greeting", 0},
        {"sValue", WMI_ARG_STRING, value, 0},
    };
    rv = 99;
    ck_assert_hr(wmi_call(regns, "StdRegProv", "SetStringValue", set, 4, &rv, NULL, err,
                          sizeof err),
                 S_OK, err);
    ck_assert_uint_eq(rv, 0);

    /* it really is in the registry */
    wchar_t wkey[96], wdata[64];
    MultiByteToWideChar(CP_UTF8, 0, key, -1, wkey, 96);
    DWORD size = sizeof wdata;
    ck_assert_int_eq(RegGetValueW(HKEY_CURRENT_USER, wkey, L"Greeting", RRF_RT_REG_SZ, NULL,
                                  wdata, &size),
                     ERROR_SUCCESS);
    ck_assert(wcscmp(wdata, L"Gr\u00fc\u00dfe, 5060") == 0);

    /* and reads back through the out-parameter sValue */
    struct wmi_arg get[] = {
        {"hDefKey", WMI_ARG_UINT32, NULL, HKCU_AS_I4},
        {"sSubKeyName", WMI_ARG_STRING, key, 0},
        {"sValueName", WMI_ARG_STRING, "Greeting", 0},
    };
    IWbemClassObject *out = NULL;
    rv = 99;
    ck_assert_hr(wmi_call(regns, "StdRegProv", "GetStringValue", get, 3, &rv, &out, err,
                          sizeof err),
                 S_OK, err);
    ck_assert_uint_eq(rv, 0);
    ck_assert_ptr_nonnull(out);
    char back[64];
    ck_assert_hr(wmi_get_string(out, "sValue", back, sizeof back, err, sizeof err), S_OK, err);
    ck_assert_str_eq(back, value);
    uint32_t rv2 = 99;
    ck_assert_hr(wmi_get_uint32(out, "ReturnValue", &rv2, err, sizeof err), S_OK, err);
    ck_assert_uint_eq(rv2, 0);
    IWbemClassObject_Release(out);

    /* a value that does not exist: the call runs, ReturnValue says why */
    get[2].s = "NoSuchValue";
    rv = 0;
    out = NULL;
    ck_assert_hr(wmi_call(regns, "StdRegProv", "GetStringValue", get, 3, &rv, &out, err,
                          sizeof err),
                 S_OK, err);
    ck_assert_uint_eq(rv, ERROR_FILE_NOT_FOUND);
    if (out)
        IWbemClassObject_Release(out);

    RegDeleteKeyW(HKEY_CURRENT_USER, wkey);
}
END_TEST

START_TEST(method_errors)
{
    regns = connect_or_fail("root\\default");
    char err[ERR_CAP] = "";
    uint32_t rv = 0;
    struct wmi_arg one[] = {{"hDefKey", WMI_ARG_UINT32, NULL, HKCU_AS_I4}};

    /* an unknown method */
    HRESULT hr = wmi_call(regns, "StdRegProv", "NoSuchMethod", NULL, 0, &rv, NULL, err, sizeof err);
    ck_assert_hr(hr, WBEM_E_NOT_FOUND, err);
    ck_assert_contains(err, "WMI class StdRegProv has no method NoSuchMethod");

    /* an unknown class */
    hr = wmi_call(regns, "NoSuchClass", "Whatever", NULL, 0, &rv, NULL, err, sizeof err);
    ck_assert_msg(FAILED(hr), "an unknown class succeeded");
    ck_assert_contains(err, "WMI class NoSuchClass does not exist in root\\default");

    /* an unknown parameter */
    struct wmi_arg bad[] = {{"NoSuchParameter", WMI_ARG_STRING, "x", 0}};
    hr = wmi_call(regns, "StdRegProv", "CreateKey", bad, 1, &rv, NULL, err, sizeof err);
    ck_assert_hr(hr, WBEM_E_INVALID_METHOD_PARAMETERS, err);
    ck_assert_contains(err, "WMI method StdRegProv.CreateKey has no parameter NoSuchParameter");

    /* not an object path */
    hr = wmi_call(regns, "", "CreateKey", one, 1, &rv, NULL, err, sizeof err);
    ck_assert_hr(hr, WBEM_E_INVALID_OBJECT_PATH, err);
    hr = wmi_call(regns, ".Key=1", "CreateKey", one, 1, &rv, NULL, err, sizeof err);
    ck_assert_hr(hr, WBEM_E_INVALID_OBJECT_PATH, err);

    /* not UTF-8 */
    struct wmi_arg latin1[] = {{"sSubKeyName", WMI_ARG_STRING, "Gr\xFC\xDF" "e", 0}};
    hr = wmi_call(regns, "StdRegProv", "CreateKey", latin1, 1, &rv, NULL, err, sizeof err);
    ck_assert_hr(hr, E_INVALIDARG, err);
}
END_TEST

/* ---- an instance method on __RELPATH ------------------------------------------------ */

START_TEST(instance_method_on_relpath)
{
    cimv2 = connect_or_fail("root\\cimv2");
    char err[ERR_CAP] = "";
    char wql[96];
    snprintf(wql, sizeof wql, "SELECT * FROM Win32_Process WHERE ProcessId = %lu",
             (unsigned long)GetCurrentProcessId());
    IEnumWbemClassObject *rows = NULL;
    ck_assert_hr(wmi_query(cimv2, wql, &rows, err, sizeof err), S_OK, err);
    IWbemClassObject *me = NULL;
    ck_assert_hr(wmi_next(cimv2, rows, &me, err, sizeof err), S_OK, err);
    IEnumWbemClassObject_Release(rows);

    uint32_t pid = 0;
    ck_assert_hr(wmi_get_uint32(me, "ProcessId", &pid, err, sizeof err), S_OK, err);
    ck_assert_uint_eq(pid, GetCurrentProcessId());
    char path[256];
    ck_assert_hr(wmi_get_relpath(me, path, sizeof path, err, sizeof err), S_OK, err);
    ck_assert_msg(strncmp(path, "Win32_Process.", 14) == 0, "%s", path);
    IWbemClassObject_Release(me);

    /* GetOwner takes no in-parameters and returns ReturnValue, User, Domain */
    IWbemClassObject *out = NULL;
    uint32_t rv = 99;
    ck_assert_hr(wmi_call(cimv2, path, "GetOwner", NULL, 0, &rv, &out, err, sizeof err), S_OK,
                 err);
    ck_assert_uint_eq(rv, 0);
    char user[128];
    ck_assert_hr(wmi_get_string(out, "User", user, sizeof user, err, sizeof err), S_OK, err);
    ck_assert_uint_gt(strlen(user), 0);
    IWbemClassObject_Release(out);

    /* a method that takes no parameters refuses some */
    struct wmi_arg extra[] = {{"Port", WMI_ARG_UINT32, NULL, 5060}};
    HRESULT hr = wmi_call(cimv2, path, "GetOwner", extra, 1, &rv, NULL, err, sizeof err);
    ck_assert_hr(hr, WBEM_E_INVALID_METHOD_PARAMETERS, err);
    ck_assert_contains(err, "GetOwner takes no parameters");
}
END_TEST

/* ---- namespaces, and the NLB backend where NLB is absent ---------------------------- */

START_TEST(unknown_namespace)
{
    char err[ERR_CAP] = "";
    struct wmi *w = (struct wmi *)1;
    ck_assert_hr(wmi_connect("root\\nosuch", &w, err, sizeof err), WBEM_E_INVALID_NAMESPACE, err);
    ck_assert_ptr_null(w);
    ck_assert_contains(err, "the WMI namespace root\\nosuch does not exist on this host");
    ck_assert_contains(err, "0x8004100E");

    w = (struct wmi *)1;
    ck_assert_hr(wmi_connect(NLB_CODES_NAMESPACE, &w, err, sizeof err), WBEM_E_INVALID_NAMESPACE,
                 err);
    ck_assert_ptr_null(w);
    ck_assert_contains(err, "NLB is not installed on this host");
}
END_TEST

START_TEST(nlb_backend_not_installed)
{
    struct config cfg;
    config_defaults(&cfg);
    snprintf(cfg.backend, sizeof cfg.backend, "wmi");
    snprintf(cfg.vip, sizeof cfg.vip, "192.0.2.10");
    cfg.port = 5060;
    char err[ERR_CAP] = "";
    const struct nlb_ops *ops = NULL;
    void *impl = nlb_wmi_open(&cfg, "node1", &ops, err, sizeof err);
    ck_assert_ptr_null(impl);
    static const char head[] =
        "NLB is not installed on this host (the root\\MicrosoftNLB WMI namespace does not exist)";
    ck_assert_msg(strncmp(err, head, sizeof head - 1) == 0, "%s", err);
    /* the same with an explicit cluster IP */
    snprintf(cfg.cluster_ip, sizeof cfg.cluster_ip, "192.0.2.1");
    err[0] = '\0';
    ck_assert_ptr_null(nlb_wmi_open(&cfg, "node1", &ops, err, sizeof err));
    ck_assert_msg(strncmp(err, head, sizeof head - 1) == 0, "%s", err);
}
END_TEST

/* ---- connections left on a draining rule: this host's TCP table ------------ */

/* The count the wmi backend makes while its rule drains, on a real loopback
 * connection (GetExtendedTcpTable works under Wine). */
START_TEST(tcp_count_on_loopback)
{
    WSADATA wsa;
    ck_assert_int_eq(WSAStartup(MAKEWORD(2, 2), &wsa), 0);
    SOCKET srv = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ck_assert(srv != INVALID_SOCKET);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(srv, (struct sockaddr *)&addr, sizeof addr), 0);
    ck_assert_int_eq(listen(srv, 4), 0);
    int len = sizeof addr;
    ck_assert_int_eq(getsockname(srv, (struct sockaddr *)&addr, &len), 0);
    unsigned port = ntohs(addr.sin_port);

    char err[ERR_CAP] = "";
    uint32_t n = 99;
    /* A listener is no connection. */
    ck_assert_msg(nlb_wmi_count_tcp("127.0.0.1", port, port, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(n, 0);

    SOCKET cli = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    ck_assert_int_eq(connect(cli, (struct sockaddr *)&addr, sizeof addr), 0);
    SOCKET conn = accept(srv, NULL, NULL);
    ck_assert(conn != INVALID_SOCKET);
    /* The accepted side has local address and port VIP:port; the client's
     * side has an ephemeral local port and is not counted. */
    ck_assert_msg(nlb_wmi_count_tcp("127.0.0.1", port, port, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(n, 1);
    ck_assert_msg(nlb_wmi_count_tcp(NULL, port, port, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(n, 1); /* an all-VIPs rule: any local address */
    ck_assert_msg(nlb_wmi_count_tcp("127.0.0.1", port > 1 ? port - 1 : port, port, &n, err,
                                    sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(n, 1); /* a rule's port range */
    /* Another VIP, another port: none. */
    ck_assert(nlb_wmi_count_tcp("192.0.2.10", port, port, &n, err, sizeof err) == 0);
    ck_assert_uint_eq(n, 0);
    ck_assert(nlb_wmi_count_tcp("127.0.0.1", port + 1, port + 1, &n, err, sizeof err) == 0);
    ck_assert_uint_eq(n, 0);
    /* An IPv6 VIP is not counted: unknown, not 0. */
    ck_assert(nlb_wmi_count_tcp("2001:db8::10", port, port, &n, err, sizeof err) == 0);
    ck_assert_uint_eq(n, NLB_CONNECTIONS_UNKNOWN);

    /* The client closes, then the server: the server's side ends (LAST_ACK,
     * then gone) and the count returns to 0. */
    closesocket(cli);
    closesocket(conn);
    n = 99;
    for (int i = 0; i < 100; i++) {
        ck_assert(nlb_wmi_count_tcp("127.0.0.1", port, port, &n, err, sizeof err) == 0);
        if (n == 0)
            break;
        Sleep(20);
    }
    ck_assert_uint_eq(n, 0);
    closesocket(srv);
    WSACleanup();
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("wmi");
    TCase *tc;

    tc = tcase_create("cimv2_query");
    tcase_add_checked_fixture(tc, com_setup, com_teardown);
    tcase_add_test(tc, query_reads_string_and_integer);
    tcase_add_test(tc, property_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_query");
    tcase_add_checked_fixture(tc, com_setup, com_teardown);
    tcase_add_test(tc, bad_wql_is_refused_clearly);
    suite_add_tcase(s, tc);

    tc = tcase_create("class_method");
    tcase_add_checked_fixture(tc, com_setup, com_teardown);
    tcase_add_test(tc, class_method_round_trip);
    tcase_add_test(tc, method_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("instance_method");
    tcase_add_checked_fixture(tc, com_setup, com_teardown);
    tcase_add_test(tc, instance_method_on_relpath);
    suite_add_tcase(s, tc);

    tc = tcase_create("not_installed");
    tcase_add_checked_fixture(tc, com_setup, com_teardown);
    tcase_add_test(tc, unknown_namespace);
    tcase_add_test(tc, nlb_backend_not_installed);
    suite_add_tcase(s, tc);

    tc = tcase_create("tcp_count");
    tcase_add_test(tc, tcp_count_on_loopback);
    suite_add_tcase(s, tc);

    return s;
}
